import type { Database } from '../db/client';
import { findSkuRow, upsertSku } from '../db/skuRepository';
import { DomainError } from '../domain/errors';
import type { SkuSettings, SkuView } from '../domain/sku';
import type { StockEngine } from '../redis/stockEngine';
import type { StockMaintenance } from '../redis/stockMaintenance';
import { restoreSkus } from './coldStart';

export interface PutSkuResult {
  created: boolean;
  view: SkuView;
  /** Set when Postgres did not take the row now: Redis has the change, the drain writes it later. */
  postgresDeferred?: unknown;
}

/**
 * Creates or updates a SKU in Redis, then writes its row to Postgres. A SKU Postgres knows is
 * never created anew in Redis (its total would count twice in a repair): when Redis lost that
 * one SKU, it is restored from Postgres first and the change applied to it.
 */
export async function putSku(services: { engine: StockEngine; maintenance: StockMaintenance; db: Database }, sku: string, settings: SkuSettings, actor: string): Promise<PutSkuResult> {
  const { engine, maintenance, db } = services;
  const known = await findSkuRow(db, sku);
  const put = () => engine.setStock(sku, settings, actor, { mayCreate: !known });
  const { created, view, version } = await put().catch(async (error) => {
    if (!known || !(error instanceof DomainError) || error.code !== 'SKU_NOT_FOUND') throw error;
    await restoreSkus(maintenance, db, [known]);
    return put();
  });
  try {
    await upsertSku(db, view, version);
    return { created, view };
  } catch (error) {
    return { created, view, postgresDeferred: error };
  }
}

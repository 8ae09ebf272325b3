import type { Database } from '../db/client';
import { findSkuRow, insertMovements, upsertSku } from '../db/skuRepository';
import { DomainError } from '../domain/errors';
import { skuNotFound } from '../domain/refusals';
import { type SkuSettings, type SkuView, normalizeSkuSettings } from '../domain/sku';
import { type SkuPatch, mergeSkuPatch } from '../domain/skuPatch';
import type { StockEngine } from '../redis/stockEngine';
import type { StockMaintenance } from '../redis/stockMaintenance';
import { restoreSkus } from '../reconciler/coldStart';
import { planWrites } from '../reconciler/writePlan';

export interface PutSkuResult {
  created: boolean;
  view: SkuView;
  /** Set when Postgres did not take the row now: Redis has the change, the drain writes it later. */
  postgresDeferred?: unknown;
}

type SkuServices = { engine: StockEngine; maintenance: StockMaintenance; db: Database };

/** Creates or updates a SKU with these settings, all of them (PUT replaces). */
export function putSku(services: SkuServices, sku: string, settings: SkuSettings, actor: string): Promise<PutSkuResult> {
  return writeSku(services, sku, actor, async () => settings);
}

/**
 * Changes the settings a patch names and keeps the others (PATCH): reads the SKU, merges, and
 * writes the merged settings as a PUT. The read and the write are one Redis round trip apart: a
 * PUT, PATCH or adjust of the same SKU landing between them is overwritten for the fields this
 * patch keeps (set_stock takes no expected settings to compare with). Holds, commits and
 * expiries meanwhile are not: set_stock reads what is held and sold itself.
 */
export function patchSku(services: SkuServices, sku: string, patch: SkuPatch, actor: string): Promise<PutSkuResult> {
  return writeSku(services, sku, actor, async () => {
    const view = await services.engine.getSku(sku);
    if (!view) throw skuNotFound(sku);
    return normalizeSkuSettings(mergeSkuPatch(view, patch));
  });
}

/**
 * Writes a SKU in Redis with the settings `settingsNow` gives, then its SET movement and its row
 * to Postgres. A SKU
 * Postgres knows is never created anew in Redis (its total would count twice in a repair): when
 * Redis lost that one SKU, it is restored from Postgres first and the change applied to it.
 */
async function writeSku(services: SkuServices, sku: string, actor: string, settingsNow: () => Promise<SkuSettings>): Promise<PutSkuResult> {
  const { engine, maintenance, db } = services;
  const known = await findSkuRow(db, sku);
  const put = async () => engine.setStock(sku, await settingsNow(), actor, { mayCreate: !known });
  const { created, view, mark, entry } = await put().catch(async (error) => {
    if (!known || !(error instanceof DomainError) || error.code !== 'SKU_NOT_FOUND') throw error;
    await restoreSkus(maintenance, db, [known]);
    return put();
  });
  try {
    // The SET movement before the row: Postgres never holds a total its movements do not add up
    // to, even when Redis loses the change before the drain (which writes it again, to no effect).
    await insertMovements(db, planWrites([entry]).movements.filter((movement) => movement.type === 'SET'));
    await upsertSku(db, view, mark);
    return { created, view };
  } catch (error) {
    return { created, view, postgresDeferred: error };
  }
}

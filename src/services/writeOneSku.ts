import type { Database } from '../db/client';
import { type SkuRow, findSkuRow } from '../db/skuRepository';
import { DomainError, RedisDataLostError, UnavailableError } from '../domain/errors';
import type { SkuSettings, SkuView } from '../domain/sku';
import { restoreSkus } from '../reconciler/coldStart';
import type { ReconcileRunner } from '../reconciler/runner';
import type { StockEngine } from '../redis/stockEngine';
import type { StockMaintenance } from '../redis/stockMaintenance';

export interface PutSkuResult {
  created: boolean;
  view: SkuView;
  /** Set when Postgres did not take the row now: Redis has the change, the drain writes it later. */
  postgresDeferred?: unknown;
}

/** `reconciler`: where facts are written ahead of the drain (a transaction, src/reconciler/factsAhead.ts). */
export type SkuServices = { engine: StockEngine; maintenance: StockMaintenance; db: Database; reconciler: Pick<ReconcileRunner, 'recordFactsAhead'> };

/** A PUT's 503 when Redis lost or replaced its data while the change was being made. */
const CHANGE_MAY_BE_LOST = 'its data was lost or replaced while the change was made, which may be gone with it: read the SKU, then retry';

/**
 * Restores a SKU Redis lost alone (its partition still holds the rest of its data) from Postgres;
 * 503 when Redis lost the partition's data meanwhile: the SKU is then left to the rebuild.
 */
export async function restoreLostSku(maintenance: StockMaintenance, db: Database, known: SkuRow): Promise<void> {
  const back = await restoreSkus(maintenance, db, [known], maintenance.restoreGuard());
  if (!back.lost) return;
  maintenance.markLost(maintenance.partitionOfSku(known.sku));
  throw new RedisDataLostError();
}

/**
 * Writes one SKU (or one bucket) in Redis with `settings`, then its SET movement and its row to
 * Postgres. `known`: its Postgres row as just read (undefined: read here); `holdsNothing` and
 * `expectedTotalChanges`: a split SKU's bucket's conditions (lua/set_stock.lua). A SKU
 * Postgres knows is never created anew in Redis (its total would count twice in a repair): when
 * Redis lost that one SKU, it is restored from Postgres first and the change applied to it (when
 * its partition lost all its data, the engine answers 503 and leaves it to the rebuild).
 */
export async function writeOneSku(
  services: SkuServices,
  sku: string,
  actor: string,
  settings: SkuSettings,
  { known: knownRow, holdsNothing, expectedTotalChanges }: { known?: SkuRow | null; holdsNothing?: boolean; expectedTotalChanges?: number } = {},
): Promise<PutSkuResult> {
  const { engine, maintenance, db, reconciler } = services;
  const known = knownRow === undefined ? await findSkuRow(db, sku) : (knownRow ?? undefined);
  const partition = maintenance.partitionOfSku(sku);
  // Read before the change: its facts are written ahead of the drain only if Redis still holds it.
  const epochRead = await maintenance.outbox.epochOf(partition);
  const put = () => engine.setStock(sku, settings, actor, { mayCreate: !known, holdsNothing, expectedTotalChanges });
  const { created, view, entry } = await put().catch(async (error) => {
    if (!known || !(error instanceof DomainError) || error.code !== 'SKU_NOT_FOUND') throw error;
    await restoreLostSku(maintenance, db, known);
    return put();
  });
  try {
    // The change, its row and its movement, with its partition's changes before it: Postgres never
    // holds a total its movements do not add up to, even when Redis loses the change before the drain.
    await reconciler.recordFactsAhead(partition, entry.entryId, epochRead);
    return { created, view };
  } catch (error) {
    // The partition began a new epoch since (a rebuild, a failover): Redis may have lost the change.
    if ((await maintenance.outbox.epochOf(partition).catch(() => null)) !== epochRead) throw new UnavailableError('Redis', error, CHANGE_MAY_BE_LOST);
    return { created, view, postgresDeferred: error };
  }
}

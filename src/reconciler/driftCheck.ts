import type { Database } from '../db/client';
import { COUNTER_FIELDS, type DriftItem } from '../domain/reconcile';
import { loadSkuFacts } from '../db/factsRepository';
import { type SkuRow, writeSkuCounters } from '../db/skuRepository';
import type { StockCounters, StockMaintenance } from '../redis/stockMaintenance';
import { restoreSkus } from './coldStart';
import { skuPages } from './skuPages';

export interface DriftResult {
  drift: DriftItem[];
  /** SKUs that changed while being checked; they are checked again next pass. */
  busy: string[];
  /** SKUs whose drift was not repaired: facts that do not add up (reserved + sold > total), or a change meanwhile (retried next pass). */
  notRepaired: string[];
}

function conserved(c: StockCounters): boolean {
  return c.available + c.reserved + c.sold === c.total && c.available >= 0 && c.reserved >= 0 && c.sold >= 0;
}

function sameCounters(c: StockCounters, row: SkuRow): boolean {
  return COUNTER_FIELDS.every((field) => c[field] === row[field]);
}

/**
 * Compares every SKU's Redis counters with Postgres. A SKU is compared only once Postgres has
 * drained all of its changes (equal versions); a SKU whose counters differ, or whose Redis
 * counters do not add up, is judged against the facts in Postgres. With `repair`, the wrong side
 * is rebuilt from the facts: Redis by the repair_stock script (reserved taken from its own expiry
 * index), Postgres's row from Redis once Redis is right; a SKU Redis lost is restored.
 */
export async function checkDrift(maintenance: StockMaintenance, db: Database, options: { repair: boolean }): Promise<DriftResult> {
  const result: DriftResult = { drift: [], busy: [], notRepaired: [] };
  for await (const page of skuPages(maintenance, db, 1000)) {
    const suspects: { row: SkuRow; redis: StockCounters | null }[] = [];
    for (const { row, redis } of page) {
      if (redis && redis.version > row.version) result.busy.push(row.sku);
      else if (!redis || !sameCounters(redis, row) || !conserved(redis)) suspects.push({ row, redis });
    }
    if (!suspects.length) continue;

    const facts = await loadSkuFacts(db, suspects.map(({ row }) => row.sku));
    const missing: SkuRow[] = [];
    for (const { row, redis } of suspects) {
      const fact = facts.get(row.sku)!;
      const expected = { total: fact.total, sold: fact.sold, reserved: fact.reserved, available: fact.total - fact.reserved - fact.sold };
      for (const field of COUNTER_FIELDS) {
        const redisValue = redis ? redis[field] : null;
        if (redisValue !== row[field] || redisValue !== expected[field]) {
          result.drift.push({ sku: row.sku, field, redis: redisValue, postgres: row[field], expected: expected[field] });
        }
      }
      if (!options.repair) continue;
      if (!redis) {
        missing.push(row);
        continue;
      }
      const redisRight = redis.total === expected.total && redis.sold === expected.sold && conserved(redis);
      if (redisRight) {
        await writeSkuCounters(db, row.sku, redis);
        continue;
      }
      const repaired = await maintenance.repairStock(row.sku, redis.version, fact.total, fact.sold);
      if (repaired === 'changed' || repaired === 'inconsistent') result.notRepaired.push(row.sku);
      else if (repaired !== 'missing') await writeSkuCounters(db, row.sku, repaired);
    }
    if (missing.length) await restoreSkus(maintenance, db, missing);
  }
  return result;
}

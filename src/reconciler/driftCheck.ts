import { isNewer } from '../domain/changeMark';
import type { Database } from '../db/client';
import { COUNTER_FIELDS, type CounterField, type DriftItem } from '../domain/reconcile';
import { type LevelFacts, loadSkuFacts } from '../db/factsRepository';
import { type SkuRow, clearFactsDue, loadStockLevels, writeSkuCounters } from '../db/skuRepository';
import { isConserved, sameCounts, sameLevels } from '../domain/sku';
import type { StockCounters, StockMaintenance } from '../redis/stockMaintenance';
import { restoreSkus } from './coldStart';
import { factLevels } from './factLevels';
import { checkLineDrift } from './lineDrift';
import { skuPages } from './skuPages';

export interface DriftResult {
  drift: DriftItem[];
  /** SKUs that changed while being checked; they are checked again next pass. */
  busy: string[];
  /** SKUs whose drift was not repaired: facts that do not add up (reserved + sold > total), or a change meanwhile (retried next pass). */
  notRepaired: string[];
}

type Counters = Record<CounterField, number>;

/** The counters the facts call for: available is what is left. */
const expectedOf = (fact: LevelFacts): Counters => ({ ...fact, available: fact.total - fact.reserved - fact.sold });

/**
 * Compares every SKU's Redis counters with Postgres, and on a SKU with locations each location's;
 * a SKU whose row took the snapshot of a new epoch (`facts_due`: a failover may have lost changes
 * Postgres recorded) is judged against the facts though both agree, until found right.
 * A SKU is compared only once Postgres has drained all of its changes (Redis's epoch and version no
 * newer than Postgres's, src/domain/changeMark.ts: a SKU untouched since a failover that rewound it
 * is compared, Postgres then holding a later version of the same epoch); a SKU whose
 * counters differ, or do not add up, is judged against the facts in Postgres. With `repair`, the
 * wrong side is rebuilt from the facts: Redis by the repair_stock script (reserved taken from its
 * own expiry index), Postgres's rows from Redis once Redis is right; a SKU Redis lost alone is
 * restored (a partition that lost all its data is left to the rebuild).
 * Each SKU's waiting-line counts are compared with its tickets in Postgres too (lineDrift.ts).
 */
export async function checkDrift(maintenance: StockMaintenance, db: Database, options: { repair: boolean }): Promise<DriftResult> {
  const result: DriftResult = { drift: [], busy: [], notRepaired: [] };
  const checkLines = async (page: { row: SkuRow; redis: StockCounters | null }[]) => {
    const lines = await checkLineDrift(maintenance, db, page, options);
    result.drift.push(...lines.drift);
    result.notRepaired.push(...lines.notRepaired);
  };
  for await (const page of skuPages(maintenance, db, 1000)) {
    await checkLines(page);
    const levels = await loadStockLevels(db, page.filter(({ redis }) => redis?.located).map(({ row }) => row.sku));
    const suspects: { row: SkuRow; redis: StockCounters | null }[] = [];
    for (const { row, redis } of page) {
      if (redis && isNewer(redis, row)) result.busy.push(row.sku);
      else if (!redis || !sameCounts(redis, row) || !isConserved(redis) || row.factsDue) suspects.push({ row, redis });
      else if (redis.located && !sameLevels(redis.locations, levels.get(row.sku) ?? [])) suspects.push({ row, redis });
    }
    if (!suspects.length) continue;

    const facts = await loadSkuFacts(db, suspects.map(({ row }) => row.sku));
    const missing: SkuRow[] = [];
    const factsAgree: { sku: string; epoch: number }[] = [];
    for (const { row, redis } of suspects) {
      const fact = facts.get(row.sku)!;
      const driftBefore = result.drift.length;
      const expected = expectedOf(fact);
      for (const field of COUNTER_FIELDS) {
        const redisValue = redis ? redis[field] : null;
        if (redisValue !== row[field] || redisValue !== expected[field]) {
          result.drift.push({ sku: row.sku, field, redis: redisValue, postgres: row[field], expected: expected[field] });
        }
      }
      let locationsRight = true;
      if (redis?.located) {
        const postgres = new Map((levels.get(row.sku) ?? []).map((level) => [level.location, level]));
        for (const level of factLevels(redis.locations, fact)) {
          const inRedis = redis.locations.find((l) => l.location === level.location);
          const want = expectedOf(fact.locations.get(level.location) ?? { total: 0, sold: 0, reserved: 0 });
          for (const field of COUNTER_FIELDS) {
            const redisValue = inRedis ? inRedis[field] : null;
            // A location Redis no longer lists holds nothing there: a retired one leaves once empty.
            const redisUnits = redisValue ?? 0;
            const postgresValue = postgres.get(level.location)?.[field] ?? 0;
            if (redisUnits !== want[field]) locationsRight = false;
            if (redisUnits !== postgresValue || redisUnits !== want[field]) {
              result.drift.push({ sku: row.sku, location: level.location, field, redis: redisValue, postgres: postgresValue, expected: want[field] });
            }
          }
        }
      }
      if (row.factsDue && result.drift.length === driftBefore) factsAgree.push({ sku: row.sku, epoch: row.epoch });
      if (!options.repair) continue;
      if (!redis) {
        missing.push(row);
        continue;
      }
      const redisRight = redis.total === expected.total && redis.sold === expected.sold && isConserved(redis) && locationsRight;
      if (redisRight) {
        await writeSkuCounters(db, row.sku, redis);
        continue;
      }
      const repaired = await maintenance.repairStock(row.sku, redis.version, { total: fact.total, sold: fact.sold, levels: redis.located ? factLevels(redis.locations, fact) : null });
      if (repaired === 'changed' || repaired === 'inconsistent') result.notRepaired.push(row.sku);
      // A row written with counters newer than the repair would claim a change Postgres lacks.
      else if (repaired !== 'missing' && repaired !== 'overtaken') await writeSkuCounters(db, row.sku, repaired);
    }
    await clearFactsDue(db, factsAgree);
    if (missing.length) {
      const lostAlone = await inPartitionsHoldingData(maintenance, missing);
      const back = await restoreSkus(maintenance, db, lostAlone, maintenance.restoreGuard());
      for (const row of missing) if (back.lost || !lostAlone.includes(row)) result.notRepaired.push(row.sku);
    }
  }
  return result;
}

/**
 * The SKUs Redis lost alone: in a partition that still holds its data. A partition that lost all
 * of it is the rebuild's (redisDataWatch.ts), which restores it fenced from the drain and with its
 * Idempotency-Key bindings; a repair restoring its SKUs first (a FLUSHALL also wipes the reconciler
 * lease, so another pass may still be draining) would read Postgres without that fence.
 */
async function inPartitionsHoldingData(maintenance: StockMaintenance, rows: SkuRow[]): Promise<SkuRow[]> {
  const partitions = [...new Set(rows.map((row) => maintenance.partitionOfSku(row.sku)))];
  const lost = new Set(maintenance.markedLost());
  const marked = await Promise.all(partitions.map((partition) => maintenance.hasDataMarker(partition)));
  const whole = new Set(partitions.filter((partition, n) => marked[n] && !lost.has(partition)));
  return rows.filter((row) => whole.has(maintenance.partitionOfSku(row.sku)));
}

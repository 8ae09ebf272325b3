import { bucketSkus } from '../domain/buckets';
import { levelIn } from './bucketTotals';
import { DomainError } from '../domain/errors';
import { adjustBeyondAvailable } from '../domain/refusals';
import type { SkuView } from '../domain/sku';
import type { StockEngine } from '../redis/stockEngine';
import type { StockMaintenance } from '../redis/stockMaintenance';

type AdjustServices = { engine: StockEngine; maintenance: StockMaintenance };

/**
 * Adds units to a SKU, or takes available ones away (`POST /v1/admin/skus/:sku/adjust`). A split
 * SKU (src/domain/buckets.ts) gets added units in its bucket 0, and gives removed ones from its
 * buckets' available units (at the location named), the fullest first, each bucket's part an ADJUST of its own; should
 * the buckets not have them all (holds took some meanwhile), what was taken is given back and
 * nothing changes.
 */
export async function adjustSku(services: AdjustServices, sku: string, delta: number, reason: string, actor: string, location?: string): Promise<SkuView> {
  const { engine, maintenance } = services;
  const buckets = (await engine.getSku(sku))?.buckets ?? 1;
  if (buckets === 1 || delta > 0) return adjustOne(engine, sku, delta, reason, actor, location);
  const names = bucketSkus(sku, buckets);
  const counters = await maintenance.readCounters(names);
  // A location it takes no holds in, or none named where it has several: refused as an unsplit SKU refuses it.
  const active = counters[0]?.located ? counters[0].locations.filter((level) => level.active) : null;
  if (active && (location === undefined ? active.length > 1 : !active.some((level) => level.location === location))) {
    return adjustOne(engine, sku, delta, reason, actor, location);
  }
  const availableIn = (bucket: number) => (location === undefined ? (counters[bucket]?.available ?? 0) : (levelIn(counters[bucket], location)?.available ?? 0));
  const fullest = names.map((name, bucket) => ({ name, available: availableIn(bucket) })).sort((a, b) => b.available - a.available);
  const taken: { name: string; units: number }[] = [];
  let missing = -delta;
  try {
    for (const { name, available } of fullest) {
      const units = Math.min(missing, available);
      if (units <= 0) continue;
      await adjustOne(engine, name, -units, reason, actor, location);
      taken.push({ name, units });
      missing -= units;
    }
    if (missing > 0) throw adjustBeyondAvailable({ sku, delta, available: -delta - missing });
  } catch (error) {
    for (const { name, units } of taken) await adjustOne(engine, name, units, `${reason} (undone: the buckets had too few units)`, actor, location);
    throw error;
  }
  return (await engine.getSku(sku))!;
}

/** One SKU's (or bucket's) adjust, a shortage worded as an adjust's. */
function adjustOne(engine: StockEngine, sku: string, delta: number, reason: string, actor: string, location?: string): Promise<SkuView> {
  return engine.adjustStock(sku, delta, reason, actor, location).catch((error: unknown) => {
    // The engine words a shortage as a reserve's ("nothing was held").
    throw error instanceof DomainError && error.code === 'INSUFFICIENT_STOCK' ? adjustBeyondAvailable(error.details) : error;
  });
}

import { bucketSkus } from '../domain/buckets';
import { DomainError, UnavailableError } from '../domain/errors';
import { totalBelowCommitted } from '../domain/refusals';
import { DEFAULT_LOCATION } from '../domain/reservation';
import { type SkuSettings, type SkuView, normalizeSkuSettings } from '../domain/sku';
import { mergeSkuPatch } from '../domain/skuPatch';
import { BucketMovedError, type PendingMove } from '../redis/bucketMoveScripts';
import type { StockCounters, StockMaintenance } from '../redis/stockMaintenance';
import { bucketSettings, levelIn, wantedLocations, withLocationTotals } from './bucketTotals';
import { type PutSkuResult, type SkuServices, writeOneSku } from './writeOneSku';

/**
 * A split SKU's write (src/domain/buckets.ts): each bucket is written as a SKU of its own, with the
 * settings and the bucket count, the buckets other than the SKU's own first (a reserve that learns
 * the count from bucket 0 finds the others there), each location's units planned apart
 * (bucketTotals.ts). Buckets
 * only grow in number, and only while no per-user count is kept (a user's bucket moves with the
 * count); a per-user limit comes to a split SKU only while nothing of it is held or sold. Each
 * write is absolute: a PUT retried after a failure half-way ends where it meant to.
 */
export async function writeSplitSku(services: SkuServices, sku: string, settings: SkuSettings, actor: string): Promise<PutSkuResult> {
  const { engine, maintenance } = services;
  if (settings.line && (settings.buckets ?? 1) > 1) return writeLinedSplitSku(services, sku, settings, actor);
  for (let attempt = 1; ; attempt++) {
    const before = await engine.getSku(sku);
    const wasBuckets = before ? (before.buckets ?? 1) : 0;
    const buckets = settings.buckets ?? 1;
    assertSplittable(sku, settings, before);
    const names = bucketSkus(sku, buckets);
    try {
      const read = before ? await readBuckets(maintenance, names, wasBuckets) : null;
      const plan = bucketSettings(settings, buckets, read);
      let result: PutSkuResult | undefined;
      let deferred: unknown;
      for (const bucket of [...names.keys()].slice(1).concat(0)) {
        const written = await writeOneSku(services, names[bucket], actor, plan[bucket], { expectedMoves: read?.[bucket]?.moves ?? 0 });
        deferred ??= written.postgresDeferred;
        if (bucket === 0) result = written;
      }
      return { created: result!.created, view: (await engine.getSku(sku))!, ...(deferred ? { postgresDeferred: deferred } : {}) };
    } catch (error) {
      // A bucket's holds, sales or moves changed under the plan: planned again from what now stands.
      if (!plannedAgain(error, attempt)) throw error;
    }
  }
}

/** Tries of a split SKU's write whose plan a bucket's holds or moves overtook. */
const MAX_SPLIT_WRITES = 5;

/** Whether a split SKU's write refused with `error` on its `attempt`-th try is planned again; past the last try a move answers 503. */
function plannedAgain(error: unknown, attempt: number): boolean {
  const overtaken = error instanceof BucketMovedError || (error instanceof DomainError && error.code === 'TOTAL_BELOW_COMMITTED');
  if (overtaken && attempt < MAX_SPLIT_WRITES) return true;
  if (error instanceof BucketMovedError) throw new UnavailableError('Stock moving between the buckets of a split SKU', error, SPLIT_WRITE_OVERTAKEN);
  return false;
}

/** A split SKU's write given up half-way (its buckets' units kept moving, or a bucket could not be written back): some buckets may have the new settings. */
const SPLIT_WRITE_OVERTAKEN = 'some of its buckets may have the new settings: retry the write (each bucket is written whole, so a retry ends where it means to)';

/**
 * A split SKU's buckets as its write plans from them (bucketTotals.ts): each one's counters, then
 * the units still on their way into it. Read in that order, a unit arriving between the two
 * reads is counted once: it is in the counters, or it arrived after them and the bucket's count
 * of moves, which its write names, says so (BucketMovedError).
 */
async function readBuckets(maintenance: StockMaintenance, names: string[], existing: number): Promise<((StockCounters & { arriving: Map<string, number> }) | null)[]> {
  const counters = await maintenance.readCounters(names.slice(0, existing));
  const arriving = names.map(() => new Map<string, number>());
  for (const move of await pendingMoves(maintenance, names)) {
    if (!names.includes(move.source) || (await maintenance.bucketMoves.arrived(move))) continue;
    const location = move.location || DEFAULT_LOCATION;
    const into = arriving[names.indexOf(move.target)];
    into.set(location, (into.get(location) ?? 0) + move.qty);
  }
  return counters.map((level, bucket) => level && { ...level, arriving: arriving[bucket] });
}

/**
 * A split SKU with a waiting line. A line admits in one order, so it runs in the first bucket; the
 * other buckets give it their available units and sell nothing while it lasts. Each of them is
 * written first, keeping only the units it sold and taking the line's settings, which refuse
 * reserves there from then on; its script refuses a bucket that still holds units (400), since
 * those could only come back out of the line's reach. Then the first bucket takes the rest of the
 * total, and the line. A write refused half-way writes the buckets it changed back as they were;
 * one whose bucket sold more meanwhile is planned again.
 */
async function writeLinedSplitSku(services: SkuServices, sku: string, settings: SkuSettings, actor: string): Promise<PutSkuResult> {
  const { engine, maintenance } = services;
  const buckets = settings.buckets!;
  const names = bucketSkus(sku, buckets);
  const before = await engine.getSku(sku);
  assertSplittable(sku, settings, before);
  const previous = before && { settings: normalizeSkuSettings(mergeSkuPatch(before, {})), counters: await maintenance.readCounters(names.slice(0, before.buckets ?? 1)) };
  /** The other buckets this write changed: written back as they were should it fail. */
  const changed = new Set<number>();
  try {
    for (let attempt = 1; ; attempt++) {
      const wasBuckets = before ? (before.buckets ?? 1) : 0;
      if (wasBuckets) await movesSettled(maintenance, names);
      const counters = wasBuckets ? await readBuckets(maintenance, names, wasBuckets) : [];
      const held = (field: 'reserved' | 'sold') => counters.reduce((sum, level) => sum + (level?.[field] ?? 0), 0);
      if (settings.total < held('reserved') + held('sold')) throw totalBelowCommitted({ requestedTotal: settings.total, reserved: held('reserved'), sold: held('sold') });
      // Units still on their way into another bucket (a move its engine left) would arrive out of the line's reach.
      if (counters.slice(1).some((level) => level && level.arriving.size > 0)) throw new UnavailableError('Stock moving between the buckets of a split SKU', undefined, 'nothing changed: retry shortly');
      try {
        const wanted = wantedLocations(settings);
        const soldElsewhere = new Map(wanted.map(({ location }) => [location, 0]));
        const expectedMoves = (bucket: number) => counters[bucket]?.moves ?? 0;
        let deferred: unknown;
        for (let bucket = 1; bucket < buckets; bucket++) {
          if (bucket < wasBuckets) changed.add(bucket);
          const keptSold = wanted.map(({ location }) => ({ location, total: levelIn(counters[bucket], location)?.sold ?? 0 }));
          const written = await writeOneSku(services, names[bucket], actor, withLocationTotals(settings, buckets, keptSold), { holdsNothing: true, expectedMoves: expectedMoves(bucket) });
          for (const { location } of wanted) soldElsewhere.set(location, soldElsewhere.get(location)! + (levelIn(written.view, location)?.sold ?? 0));
          deferred ??= written.postgresDeferred;
        }
        // What is on its way into the first bucket arrives there: its total is written without it.
        const rest = wanted.map(({ location, total }) => ({ location, total: total - soldElsewhere.get(location)! - (counters[0]?.arriving.get(location) ?? 0) }));
        const first = await writeOneSku(services, names[0], actor, withLocationTotals(settings, buckets, rest), { expectedMoves: expectedMoves(0) });
        deferred ??= first.postgresDeferred;
        // A refill begun just before may have brought units into another bucket since: written again.
        if (attempt < MAX_SPLIT_WRITES && !(await othersHoldNothing(services, names))) continue;
        return { created: first.created, view: (await engine.getSku(sku))!, ...(deferred ? { postgresDeferred: deferred } : {}) };
      } catch (error) {
        // A bucket sold, held or moved more than read: planned again from what now stands.
        if (!plannedAgain(error, attempt)) throw error;
      }
    }
  } catch (error) {
    let writtenBack: unknown;
    for (const bucket of previous ? changed : []) {
      const levels = wantedLocations(previous!.settings).map(({ location }) => ({ location, total: levelIn(previous!.counters[bucket], location)?.total ?? 0 }));
      await writeOneSku(services, names[bucket], actor, withLocationTotals(previous!.settings, previous!.settings.buckets ?? 1, levels)).catch((failure: unknown) => (writtenBack ??= failure));
    }
    // A bucket not written back: the refusal's "nothing changed" would not be true.
    if (writtenBack) throw new UnavailableError('Redis', writtenBack, SPLIT_WRITE_OVERTAKEN);
    throw error;
  }
}

/** How long a lined split SKU's write waits for moves between its buckets under way. */
const MOVES_SETTLE_MS = 2_000;

/** Waits (MOVES_SETTLE_MS at most) until no units move between these buckets (src/reconciler/bucketMoves.ts). */
export async function movesSettled(maintenance: StockMaintenance, names: string[]): Promise<void> {
  const deadline = Date.now() + MOVES_SETTLE_MS;
  while ((await pendingMoves(maintenance, names)).length > 0 && Date.now() <= deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** The moves pending into these buckets (src/reconciler/bucketMoves.ts). */
async function pendingMoves(maintenance: StockMaintenance, names: string[]): Promise<PendingMove[]> {
  const partitions = [...new Set(names.map((name) => maintenance.partitionOfSku(name)))];
  const pending = (await Promise.all(partitions.map((partition) => maintenance.bucketMoves.pending(partition)))).flat();
  return pending.filter((move) => names.includes(move.target));
}

/**
 * Whether the buckets other than the first hold no available unit once the SKU's moves under way
 * have ended. A refill a reserve began before the line was set can still move units into another
 * bucket (its move out ran before its source took the line; a bucket with a line gives none since,
 * lua/bucket_move_out.lua): those would sit out of the line's reach.
 */
async function othersHoldNothing({ maintenance }: SkuServices, names: string[]): Promise<boolean> {
  await movesSettled(maintenance, names);
  const counters = await maintenance.readCounters(names.slice(1));
  return counters.every((level) => (level?.available ?? 0) === 0);
}

/** What a split SKU may not be: lined under a per-user limit, fewer buckets than before, re-split under a per-user count, or given a limit once sold. */
function assertSplittable(sku: string, settings: SkuSettings, before: SkuView | null): void {
  const buckets = settings.buckets ?? 1;
  const refuse = (message: string) => new DomainError('VALIDATION_FAILED', message, { sku, buckets });
  // Each user's count lives in the user's bucket, where the line admits in the first.
  if (settings.line && settings.perUserLimit !== null) throw refuse('A SKU split into buckets takes a waiting line, or a per-user limit, not both.');
  if (!before) return;
  const had = before.buckets ?? 1;
  if (buckets < had) throw refuse(`A SKU's buckets only grow: it has ${had}.`);
  const counted = settings.perUserLimit !== null || before.perUserLimit !== null;
  const sold = before.reserved + before.sold > 0;
  if (buckets !== had && counted && sold) {
    throw refuse('The buckets of a SKU with a per-user limit change only while nothing of it is held or sold: each user has one bucket, which the count of buckets decides.');
  }
  // Without a limit a split SKU's reserves spread over its buckets (src/redis/bucketRoutes.ts), so
  // what a user holds and bought is counted wherever it fell: no bucket alone knows it.
  if (had > 1 && settings.perUserLimit !== null && before.perUserLimit === null && sold) {
    throw refuse('A split SKU takes a per-user limit only while nothing of it is held or sold: without one its reserves spread over the buckets, so no bucket knows what a user holds and bought.');
  }
}

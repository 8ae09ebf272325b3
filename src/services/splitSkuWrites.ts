import { findBucketMoves } from '../db/bucketMoveRepository';
import { bucketSkus } from '../domain/buckets';
import { DomainError, UnavailableError } from '../domain/errors';
import { totalBelowCommitted } from '../domain/refusals';
import { DEFAULT_LOCATION } from '../domain/reservation';
import { type SkuSettings, type SkuView, normalizeSkuSettings } from '../domain/sku';
import { mergeSkuPatch } from '../domain/skuPatch';
import { BucketChangedError, type PendingMove } from '../redis/bucketMoveScripts';
import type { StockCounters, StockMaintenance } from '../redis/stockMaintenance';
import { type BucketLevels, bucketSettings, heldElsewhere, levelIn, stockAsRead, wantedLocations, withLocationTotals } from './bucketTotals';
import { type PutSkuResult, type SkuServices, writeOneSku } from './writeOneSku';

/** How a split SKU's write takes its totals. */
export interface SplitWriteOptions {
  /**
   * Keep each location's units as they stand (a PATCH that names no stock): each try takes the
   * totals from its own read of the buckets, units moving between them included, so a move under
   * way is neither lost nor counted twice (a view, which leaves such units out, would lose them).
   */
  keepStock?: boolean;
}

/**
 * A split SKU's write (src/domain/buckets.ts): each bucket is written as a SKU of its own, with the
 * settings and the bucket count, the buckets other than the SKU's own first (a reserve that learns
 * the count from bucket 0 finds the others there), each location's units planned apart
 * (bucketTotals.ts). Each bucket's write names the count of changes to its total it was planned
 * from (lua/set_stock.lua): a move or another write since refuses it, and the write is planned
 * again, so two writes at once end as one of them, never a mix. Buckets only grow in number, and
 * only while no per-user count is kept (a user's bucket moves with the count); a per-user limit
 * comes to a split SKU only while nothing of it is held or sold. A write that fails half-way
 * undoes what it changed (WrittenBuckets), so its refusal's "nothing changed" holds; one that
 * cannot answers 503.
 */
export async function writeSplitSku(services: SkuServices, sku: string, settings: SkuSettings, actor: string, options: SplitWriteOptions = {}): Promise<PutSkuResult> {
  const before = await services.engine.getSku(sku);
  assertSplittable(sku, settings, before);
  const written = new WrittenBuckets(before && normalizeSkuSettings(mergeSkuPatch(before, {})));
  const lined = settings.line && (settings.buckets ?? 1) > 1;
  let done: SplitWriteDone;
  try {
    done = lined ? await writeLinedSplitSku(services, sku, settings, actor, before, options, written) : await writeUnlinedSplitSku(services, sku, settings, actor, options, written);
  } catch (error) {
    throw await written.undone(services, bucketSkus(sku, settings.buckets ?? 1), actor, error);
  }
  // Read once every bucket is written: a failure now is no reason to undo the write.
  return { created: done.created, view: (await services.engine.getSku(sku))!, ...(done.postgresDeferred ? { postgresDeferred: done.postgresDeferred } : {}) };
}

/** A split SKU's write once every bucket is written: whether it created the SKU, and a Postgres write left to the drain. */
type SplitWriteDone = Omit<PutSkuResult, 'view'>;

/** A split SKU without a line: every bucket is planned from one read (bucketTotals.ts), bucket 0 written last. */
async function writeUnlinedSplitSku(services: SkuServices, sku: string, settings: SkuSettings, actor: string, { keepStock }: SplitWriteOptions, written: WrittenBuckets): Promise<SplitWriteDone> {
  const { engine } = services;
  const buckets = settings.buckets ?? 1;
  const names = bucketSkus(sku, buckets);
  for (let attempt = 1; ; attempt++) {
    assertSplittable(sku, settings, await engine.getSku(sku));
    try {
      const read = await readBuckets(services, names);
      // No bucket yet: a new SKU, split evenly.
      const planFrom = read.some(Boolean) ? read : null;
      const plan = bucketSettings(keepStock && planFrom ? stockAsRead(settings, planFrom) : settings, buckets, planFrom);
      let result: PutSkuResult | undefined;
      let deferred: unknown;
      for (const bucket of [...names.keys()].slice(1).concat(0)) {
        const bucketWrite = await writeOneSku(services, names[bucket], actor, plan[bucket], { expectedTotalChanges: read[bucket]?.totalChanges ?? 0 });
        written.record(bucket, read[bucket], bucketWrite.view);
        deferred ??= bucketWrite.postgresDeferred;
        if (bucket === 0) result = bucketWrite;
      }
      return { created: result!.created, ...(deferred ? { postgresDeferred: deferred } : {}) };
    } catch (error) {
      // A bucket's holds, sales, moves or another write changed it under the plan: planned again from what now stands.
      if (!plannedAgain(error, attempt)) throw error;
    }
  }
}

/** Tries of a split SKU's write whose plan a bucket's holds or moves overtook. */
const MAX_SPLIT_WRITES = 5;

/** Whether a split SKU's write refused with `error` on its `attempt`-th try is planned again; past the last try a change answers 503. */
function plannedAgain(error: unknown, attempt: number): boolean {
  const overtaken = error instanceof BucketChangedError || (error instanceof DomainError && error.code === 'TOTAL_BELOW_COMMITTED');
  if (overtaken && attempt < MAX_SPLIT_WRITES) return true;
  if (error instanceof BucketChangedError) throw new UnavailableError('Stock moving between the buckets of a split SKU', error, 'nothing changed: retry shortly');
  return false;
}

/** A split SKU's write given up half-way and not undone (Redis failed, or it had created buckets): some buckets may have the new settings. */
const SPLIT_WRITE_OVERTAKEN = 'some of its buckets may have the new settings: retry the write (each bucket is written whole, so a retry ends where it means to)';

/**
 * The buckets a split SKU's write changed, to undo them should it fail: for each one, the units
 * the write added to each location's total (negative: took). Each bucket's write named the count
 * of changes to its total it read, so its counters as read held until that write: the difference
 * with what the write answered is exactly what it changed. The undo gives each bucket its previous
 * settings and takes that difference back from its total as it stands then, so units that moved
 * in or out meanwhile stay where they went.
 */
class WrittenBuckets {
  private readonly added = new Map<number, Map<string, number>>();
  /** A bucket the write created: growing cannot be undone, so such a write answers 503 (a retry ends where it means to). */
  private created = false;

  /** `previous`: the SKU's settings before the write; null when the write creates it. */
  constructor(private readonly previous: SkuSettings | null) {}

  record(bucket: number, read: BucketLevels | undefined, after: SkuView): void {
    if (!read) {
      this.created = true;
      return;
    }
    const added = this.added.get(bucket) ?? new Map<string, number>();
    for (const location of new Set([...read.locations, ...after.locations].map((level) => level.location))) {
      const change = (levelIn(after, location)?.total ?? 0) - (levelIn(read, location)?.total ?? 0);
      added.set(location, (added.get(location) ?? 0) + change);
    }
    this.added.set(bucket, added);
  }

  /** The error the failed write answers, once what it changed was undone: `error`, or 503 when some bucket keeps a change. */
  async undone(services: SkuServices, names: string[], actor: string, error: unknown): Promise<unknown> {
    if (this.added.size === 0 && !this.created) return error;
    if (this.created || !this.previous) return new UnavailableError('Redis', error, SPLIT_WRITE_OVERTAKEN);
    try {
      for (const [bucket, added] of this.added) await this.undo(services, names[bucket], actor, added);
      return error;
    } catch (failure) {
      return new UnavailableError('Redis', failure, SPLIT_WRITE_OVERTAKEN);
    }
  }

  private async undo(services: SkuServices, name: string, actor: string, added: Map<string, number>): Promise<void> {
    const previous = this.previous!;
    for (let attempt = 1; ; attempt++) {
      const [now] = await services.maintenance.readCounters([name]);
      // A plain total is the bucket's whole total: what it holds and sold elsewhere counts toward it.
      const elsewhere = previous.locations ? 0 : heldElsewhere(now);
      const levels = wantedLocations(previous).map(({ location }) => ({ location, total: (levelIn(now, location)?.total ?? 0) - (added.get(location) ?? 0) + elsewhere }));
      try {
        await writeOneSku(services, name, actor, withLocationTotals(previous, previous.buckets ?? 1, levels), { expectedTotalChanges: now?.totalChanges ?? 0 });
        return;
      } catch (error) {
        if (!(error instanceof BucketChangedError) || attempt === MAX_SPLIT_WRITES) throw error;
      }
    }
  }
}

/**
 * A split SKU's buckets as its write plans from them (bucketTotals.ts): each one's counters, then
 * the units still on their way into it. Read in that order, a unit arriving between the two
 * reads is counted once: it is in the counters, or it arrived after them and the bucket's count
 * of changes, which its write names, says so (BucketChangedError). A move has arrived when its
 * target holds its marker, or when Postgres saw it arrive: a target rebuilt from Postgres since has
 * its units but lost the marker.
 */
async function readBuckets({ maintenance, db }: SkuServices, names: string[]): Promise<((StockCounters & { arriving: Map<string, number> }) | null)[]> {
  // Every bucket the write names, also those beyond the SKU's count: a growth Redis failed
  // half-way made them, with units, and the write's retry plans with those.
  const counters = await maintenance.readCounters(names);
  const unmarked: PendingMove[] = [];
  for (const move of await pendingMoves(maintenance, names)) {
    if (names.includes(move.source) && !(await maintenance.bucketMoves.arrived(move))) unmarked.push(move);
  }
  const seenInPostgres = await findBucketMoves(db, unmarked.map((move) => move.id));
  const arriving = names.map(() => new Map<string, number>());
  for (const move of unmarked) {
    if (seenInPostgres.get(move.id)?.inAt) continue;
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
 * total, and the line. A write refused half-way is undone (WrittenBuckets); one whose bucket sold
 * or moved more meanwhile is planned again.
 */
async function writeLinedSplitSku(services: SkuServices, sku: string, settings: SkuSettings, actor: string, before: SkuView | null, { keepStock }: SplitWriteOptions, written: WrittenBuckets): Promise<SplitWriteDone> {
  const { maintenance } = services;
  const buckets = settings.buckets!;
  const names = bucketSkus(sku, buckets);
  const wasBuckets = before ? (before.buckets ?? 1) : 0;
  for (let attempt = 1; ; attempt++) {
    if (wasBuckets) await movesSettled(maintenance, names);
    const counters = await readBuckets(services, names);
    const wanted = keepStock && wasBuckets ? stockAsRead(settings, counters) : settings;
    const held = (field: 'reserved' | 'sold') => counters.reduce((sum, level) => sum + (level?.[field] ?? 0), 0);
    if (wanted.total < held('reserved') + held('sold')) throw totalBelowCommitted({ requestedTotal: wanted.total, reserved: held('reserved'), sold: held('sold') });
    // Units still on their way (a move its engine left) would arrive in another bucket out of the
    // line's reach, or in the first after its line judged tickets SOLD_OUT without them.
    if (counters.some((level) => level && level.arriving.size > 0)) throw new UnavailableError('Stock moving between the buckets of a split SKU', undefined, 'nothing changed: retry shortly');
    try {
      const locations = wantedLocations(wanted);
      const soldElsewhere = new Map(locations.map(({ location }) => [location, 0]));
      // A plain total on a SKU with locations is a bucket's whole total (lua/set_stock.lua): what
      // it holds and sold at the locations it retires counts toward it.
      const plain = !wanted.locations;
      const expectedTotalChanges = (bucket: number) => counters[bucket]?.totalChanges ?? 0;
      let deferred: unknown;
      for (let bucket = 1; bucket < buckets; bucket++) {
        const keptSold = locations.map(({ location }) => ({ location, total: (levelIn(counters[bucket], location)?.sold ?? 0) + (plain ? heldElsewhere(counters[bucket]) : 0) }));
        const other = await writeOneSku(services, names[bucket], actor, withLocationTotals(wanted, buckets, keptSold), { holdsNothing: true, expectedTotalChanges: expectedTotalChanges(bucket) });
        written.record(bucket, counters[bucket], other.view);
        for (const { location } of locations) soldElsewhere.set(location, soldElsewhere.get(location)! + (plain ? other.view.total : (levelIn(other.view, location)?.sold ?? 0)));
        deferred ??= other.postgresDeferred;
      }
      // Nothing is on its way into any bucket (refused above): the first takes the rest of the total.
      const rest = locations.map(({ location, total }) => ({ location, total: total - soldElsewhere.get(location)! }));
      const first = await writeOneSku(services, names[0], actor, withLocationTotals(wanted, buckets, rest), { expectedTotalChanges: expectedTotalChanges(0) });
      written.record(0, counters[0], first.view);
      deferred ??= first.postgresDeferred;
      // A refill begun just before may have brought units into another bucket since: written again.
      if (attempt < MAX_SPLIT_WRITES && !(await othersHoldNothing(services, names))) continue;
      return { created: first.created, ...(deferred ? { postgresDeferred: deferred } : {}) };
    } catch (error) {
      // A bucket sold, held or moved more than read: planned again from what now stands.
      if (!plannedAgain(error, attempt)) throw error;
    }
  }
}

/** How long a lined split SKU's write waits for moves between its buckets under way. */
const MOVES_SETTLE_MS = 2_000;

/** Waits (MOVES_SETTLE_MS at most) until no units move between these buckets (src/reconciler/bucketMoves.ts). */
async function movesSettled(maintenance: StockMaintenance, names: string[]): Promise<void> {
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

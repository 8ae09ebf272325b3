import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { bucketSkus } from '../domain/buckets';
import type { ReconcileRunner } from '../reconciler/runner';
import type { StockEngine } from '../redis/stockEngine';
import { DEFAULT_LOCATION } from '../domain/reservation';
import type { BucketCount } from '../redis/stockReads';
import { FreshReads } from './freshReads';

/**
 * What a refill found: units are (or may be) on their way to the reserve's bucket, or another
 * bucket has them (`bucket`, for a reserve free to go there), or none anywhere could hold the line.
 */
export type RefillOutcome = { retry: true; bucket?: string } | { retry: false; available: number };

/** How long a refill waits for units moving between buckets before the reserve is tried again. */
const MOVING_WAIT_MS = 5;

/**
 * Brings units of a split SKU (src/domain/buckets.ts) to the bucket a reserve was sent to
 * (src/redis/bucketRoutes.ts), when that bucket is short: the reserve was refused
 * INSUFFICIENT_STOCK there.
 *
 * Every bucket is counted (lua/bucket_count.lua): its available units, the units of holds whose
 * time ran out (a move out of the bucket sweeps them first) and the units moving out of it. When
 * the others have enough, units move from the richest to the reserve's bucket (at least half of
 * what each gives, so that the next reserves sent there find units without a move), and it is
 * tried again. A refusal is answered only when two counts in a row agree, bucket by bucket
 * (change counter and units moving), that all buckets together have fewer than the line asks:
 * each bucket was then unchanged over a moment common to every count, so that moment's sum is
 * exact, and no unit was in flight (no false sold-out while any bucket could hold the line).
 *
 * On a SKU with locations a line naming one counts and moves that location's units only; a line
 * naming none is refilled from the first location, in priority order, whose buckets together hold
 * all of it, as an unsplit SKU would take it; else from every active location, a donor giving its
 * units in priority order, one move per location (a unit stays in its location:
 * lua/bucket_move_in.lua).
 */
export class BucketRefills {
  private readonly counts = new FreshReads<(BucketCount | null)[]>();

  constructor(
    private readonly engine: StockEngine,
    private readonly runner: Pick<ReconcileRunner, 'moveUnits'>,
  ) {}

  /**
   * Refills `home`, the reserve's bucket of `sku` (split into `buckets`), toward `qty` units;
   * `mayGo`: a reserve that may go to any bucket (src/redis/bucketRoutes.ts) is sent to one that
   * holds the line instead, when there is one; `gather` moves every unit the other buckets have
   * (an allowPartial reserve, once no bucket can hold it all); `location`: the one the line names.
   */
  async refill(sku: string, buckets: number, home: string, qty: number, options: { gather?: boolean; mayGo?: boolean; location?: string } = {}): Promise<RefillOutcome> {
    const { gather = false, mayGo = false } = options;
    const names = bucketSkus(sku, buckets);
    const first = await this.count(names);
    const location = options.location ?? wholeLocation(names.map((name) => first.get(name)), qty);
    const spare = (name: string) => spareTotal(first.get(name), location);
    const inHome = spare(home);
    if (inHome >= qty && !gather) return { retry: true };
    if (mayGo && !gather) {
      // Going costs a script call where a move also writes Postgres; a bucket drawn at random, so
      // that the reserves short together do not all go to the same one.
      const fits = names.filter((name) => name !== home && spare(name) >= qty);
      if (fits.length > 0) return { retry: true, bucket: fits[randomInt(fits.length)] };
    }
    const donors = names.filter((name) => name !== home && spare(name) > 0).sort((a, b) => spare(b) - spare(a));
    const elsewhere = donors.reduce((sum, name) => sum + spare(name), 0);
    if (inHome + elsewhere >= qty || (gather && elsewhere > 0)) {
      let missing = gather ? elsewhere : qty - inHome;
      for (const donor of donors) {
        let amount = Math.min(spare(donor), Math.max(missing, Math.ceil(spare(donor) / 2)));
        for (const part of spareUnits(first.get(donor), location)) {
          if (missing <= 0 || amount <= 0) break;
          const units = Math.min(part.units, amount);
          const moved = await this.runner.moveUnits(donor, home, units, part.location);
          amount -= units;
          if (moved.moved) missing -= units;
        }
      }
      return { retry: true };
    }
    const moving = names.reduce((sum, name) => sum + (first.get(name)?.movingOut ?? 0), 0);
    if (moving > 0) {
      await sleep(MOVING_WAIT_MS);
      return { retry: true };
    }
    const second = await this.count(names);
    const unchanged = names.every((name) => sameCount(first.get(name), second.get(name)));
    return unchanged ? { retry: false, available: inHome + elsewhere } : { retry: true };
  }

  /** Every bucket counted, in a count that began after this call: shared by the reserves short at once (freshReads.ts). */
  private async count(names: string[]): Promise<Map<string, BucketCount | null>> {
    const counts = await this.counts.read(names.join(','), () => this.engine.bucketCounts(names));
    return new Map(names.map((name, n) => [name, counts[n]]));
  }
}

/**
 * A bucket's units a line could be given, by location ('' on a bucket without locations): of the
 * location it names, else of every active location in priority order. Expired holds count: a
 * move out sweeps them back first.
 */
function spareUnits(count: BucketCount | null | undefined, location: string | undefined): { location: string; units: number }[] {
  if (!count) return [];
  if (!count.locations) return location === undefined || location === DEFAULT_LOCATION ? [{ location: '', units: count.available + count.expired }] : [];
  return count.locations
    .filter((level) => location === undefined || level.location === location)
    .map((level) => ({ location: level.location, units: level.available + level.expired }))
    .filter((part) => part.units > 0);
}

/** The first active location, in priority order, whose units over all the buckets cover `qty`; undefined on a SKU without locations or when none does. */
function wholeLocation(counts: (BucketCount | null | undefined)[], qty: number): string | undefined {
  const order = counts.find((count) => count?.locations)?.locations ?? [];
  return order.find(({ location }) => counts.reduce((sum, count) => sum + spareTotal(count, location), 0) >= qty)?.location;
}

function spareTotal(count: BucketCount | null | undefined, location: string | undefined): number {
  return spareUnits(count, location).reduce((sum, part) => sum + part.units, 0);
}

function sameCount(a: BucketCount | null | undefined, b: BucketCount | null | undefined): boolean {
  return (!a && !b) || (!!a && !!b && a.version === b.version && a.movingOut === b.movingOut);
}

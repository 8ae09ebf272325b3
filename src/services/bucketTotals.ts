import { totalBelowCommitted } from '../domain/refusals';
import { DEFAULT_LOCATION } from '../domain/reservation';
import type { LocationLevel, LocationTotal, SkuSettings } from '../domain/sku';

/**
 * A bucket of a split SKU as its write reads it: every location's counters ("default" alone
 * without locations), and the units on their way into it by location (moves whose units left
 * their source and have not arrived); null for a bucket not written yet.
 */
export type BucketLevels = { locations: readonly LocationLevel[]; arriving?: ReadonlyMap<string, number> } | null;

/** The locations a SKU's settings name: "default" alone for a plain total. */
export function wantedLocations(settings: SkuSettings): LocationTotal[] {
  return settings.locations ?? [{ location: DEFAULT_LOCATION, total: settings.total }];
}

/** One location's counters in a bucket, when it has that location. */
export function levelIn(bucket: BucketLevels | undefined, location: string): LocationLevel | undefined {
  return bucket?.locations.find((level) => level.location === location);
}

/**
 * The settings each bucket of a split SKU (src/domain/buckets.ts) is written with, location by
 * location (a plain total is the one location "default"): a new SKU's units are split evenly; a
 * later total adds to bucket 0, or takes from the buckets' available units there, the fullest
 * first. A unit never changes location: each location is planned on its own. Units on their way
 * into a bucket count as its own, and its total is written without them, since their arrival adds
 * them (a write that left them out would add them to the total a second time).
 * `before`: each existing bucket as read (null: the SKU is new). TOTAL_BELOW_COMMITTED when a
 * location's new total is below what its buckets hold and sold.
 */
export function bucketSettings(settings: SkuSettings, buckets: number, before: readonly BucketLevels[] | null): SkuSettings[] {
  const plan = Array.from({ length: buckets }, () => [] as LocationTotal[]);
  // A plain total on a SKU with locations is the SKU's whole total, as lua/set_stock.lua reads it:
  // the units held and sold at its other locations (retired by it) count toward it, bucket by bucket.
  const elsewhere = plan.map((_, bucket) => (settings.locations ? 0 : heldElsewhere(before?.[bucket])));
  const heldOutside = elsewhere.reduce((sum, units) => sum + units, 0);
  for (const { location, total: wantedTotal } of wantedLocations(settings)) {
    const total = wantedTotal - heldOutside;
    const levels = plan.map((_, bucket) => levelIn(before?.[bucket], location));
    const arriving = plan.map((_, bucket) => before?.[bucket]?.arriving?.get(location) ?? 0);
    const totals = levels.map((level, bucket) => (level?.total ?? 0) + arriving[bucket]);
    if (!before) {
      totals.forEach((_, bucket) => (totals[bucket] = Math.floor(total / buckets) + (bucket < total % buckets ? 1 : 0)));
    } else {
      let change = total - totals.reduce((sum, units) => sum + units, 0);
      if (change > 0) totals[0] += change;
      const fullest = levels.map((_, bucket) => bucket).sort((a, b) => (levels[b]?.available ?? 0) - (levels[a]?.available ?? 0));
      for (const bucket of fullest) {
        if (change >= 0) break;
        const taken = Math.min(-change, levels[bucket]?.available ?? 0);
        totals[bucket] -= taken;
        change += taken;
      }
      if (change < 0) {
        // Named locations are refused one by one; a plain total is the SKU's, counting every location.
        const counted = settings.locations ? levels : before.flatMap((bucket) => bucket?.locations ?? []);
        const held = (field: 'reserved' | 'sold') => counted.reduce((sum, level) => sum + (level?.[field] ?? 0), 0);
        throw totalBelowCommitted({ ...(settings.locations ? { location } : {}), requestedTotal: wantedTotal, reserved: held('reserved'), sold: held('sold') });
      }
    }
    totals.forEach((units, bucket) => plan[bucket].push({ location, total: units - arriving[bucket] + elsewhere[bucket] }));
  }
  return plan.map((locations) => withLocationTotals(settings, buckets, locations));
}

/**
 * `settings` with the stock its buckets hold as read: each location it names (its active ones, or
 * "default") totals its units in every bucket and those on their way into one. A write that keeps
 * a split SKU's stock (a PATCH naming none) plans from this, so it changes no bucket's total.
 */
export function stockAsRead(settings: SkuSettings, read: readonly BucketLevels[]): SkuSettings {
  const locations = wantedLocations(settings).map(({ location }) => ({
    location,
    total: read.reduce((sum, bucket) => sum + (levelIn(bucket, location)?.total ?? 0) + (bucket?.arriving?.get(location) ?? 0), 0),
  }));
  const total = locations.reduce((sum, level) => sum + level.total, 0);
  return { ...settings, total, ...(settings.locations ? { locations } : {}) };
}

/** Units held and sold in a bucket at locations other than "default". */
export function heldElsewhere(bucket: BucketLevels | undefined): number {
  return (bucket?.locations ?? []).filter((level) => level.location !== DEFAULT_LOCATION).reduce((sum, level) => sum + level.reserved + level.sold, 0);
}

/** `settings` for one bucket: these location totals (the one "default" as a plain total). */
export function withLocationTotals(settings: SkuSettings, buckets: number, locations: LocationTotal[]): SkuSettings {
  const total = locations.reduce((sum, level) => sum + level.total, 0);
  return { ...settings, buckets, total, ...(settings.locations ? { locations } : {}) };
}

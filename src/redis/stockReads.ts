import { bucketSku, bucketSkus } from '../domain/buckets';
import type { SkuView } from '../domain/sku';
import { COUNTER_FIELDS } from '../domain/reconcile';
import type { RedisStore } from './redisStore';
import { bucketCountCall } from './scriptCalls';
import { skuViewOf } from './stockHash';

/** One bucket of a split SKU as a refill counts it (lua/bucket_count.lua). */
export interface BucketCount {
  available: number;
  /** Units on their way out of it to another bucket. */
  movingOut: number;
  version: number;
  /** Units of holds whose time ran out, not yet swept back. */
  expired: number;
  /** On a bucket with locations: the same two counts for each active location, in priority order. */
  locations?: { location: string; available: number; expired: number }[];
}

/** Reading SKUs: whole views, the change counters live events poll, and Redis's clock. */
export class StockReads {
  constructor(private readonly store: RedisStore) {}

  /** Reads one SKU view; null when the SKU does not exist. */
  async getSku(sku: string): Promise<SkuView | null> {
    const [view] = await this.getSkus([sku]);
    return view;
  }

  /** Reads several SKU views in one round trip; null for each SKU that does not exist. */
  async getSkus(skus: readonly string[]): Promise<(SkuView | null)[]> {
    return (await this.getSkuStates(skus)).map((state) => state?.view ?? null);
  }

  /** SKU views with the change counter they stand at (live events order changes by it); null where missing. */
  async getSkuStates(skus: readonly string[]): Promise<({ view: SkuView; version: number } | null)[]> {
    const { keys } = this.store;
    for (const sku of skus) this.store.assertServing(keys.partitionOfSku(sku));
    const hashes = await this.store.readWholeHashes(skus.map((sku) => keys.stock(sku)));
    const states = hashes.map((hash, n) => {
      const view = skuViewOf(skus[n], hash);
      return view && { view, version: Number(hash.version ?? 0) };
    });
    for (const [n, state] of states.entries()) if (!state) await this.store.confirmNotFound(keys.partitionOfSku(skus[n]));
    const split = states.filter((state) => state && state.view.buckets) as { view: SkuView; version: number }[];
    return split.length ? this.withBuckets(states, split) : states;
  }

  /**
   * The views of split SKUs (src/domain/buckets.ts) as one SKU: every bucket's counters summed,
   * location by location, and their change counters (any bucket's change moves the sum on). Units
   * on their way from one bucket to another (for milliseconds) are in neither.
   */
  private async withBuckets<T extends { view: SkuView; version: number } | null>(states: T[], split: { view: SkuView; version: number }[]): Promise<T[]> {
    const { keys } = this.store;
    const others = split.flatMap(({ view }) => bucketSkus(view.sku, view.buckets!).slice(1));
    for (const name of others) this.store.assertServing(keys.partitionOfSku(name));
    const hashes = await this.store.readWholeHashes(others.map((name) => keys.stock(name)));
    let next = 0;
    const summed = new Map(
      split.map((state) => {
        const sums = { total: state.view.total, available: state.view.available, reserved: state.view.reserved, sold: state.view.sold };
        const levels = new Map(state.view.locations.map((level) => [level.location, { ...level }]));
        let version = state.version;
        for (let bucket = 1; bucket < state.view.buckets!; bucket++) {
          const name = bucketSku(state.view.sku, bucket);
          const hash = hashes[next++];
          for (const field of COUNTER_FIELDS) sums[field] += Number(hash[field] ?? 0);
          for (const level of skuViewOf(name, hash)?.locations ?? []) {
            const sum = levels.get(level.location);
            if (!sum) levels.set(level.location, { ...level });
            else for (const field of COUNTER_FIELDS) sum[field] += level[field];
          }
          version += Number(hash.version ?? 0);
        }
        return [state, { view: { ...state.view, ...sums, locations: [...levels.values()] }, version }];
      }),
    );
    return states.map((state) => (state && summed.get(state)) ?? state) as T[];
  }

  /** Each bucket of a split SKU as a refill counts it; null for a bucket that does not exist. */
  async bucketCounts(names: readonly string[]): Promise<(BucketCount | null)[]> {
    for (const name of names) this.store.assertServing(this.store.keys.partitionOfSku(name));
    const replies = await Promise.all(names.map((name) => this.store.run<number[]>(bucketCountCall(this.store, name))));
    return replies.map((reply) => {
      if (!reply.length) return null;
      const [available, movingOut, version, expired, ...perLocation] = reply;
      const count: BucketCount = { available, movingOut, version, expired };
      if (perLocation.length) {
        count.locations = [];
        for (let at = 0; at < perLocation.length; at += 3) count.locations.push({ location: String(perLocation[at]), available: Number(perLocation[at + 1]), expired: Number(perLocation[at + 2]) });
      }
      return count;
    });
  }

  /**
   * Each SKU's change counter, one field read per SKU (null where the SKU is missing): the cheap
   * question live events ask ten times a second before reading a changed SKU whole.
   */
  async getSkuVersions(skus: readonly string[]): Promise<(number | null)[]> {
    const { keys } = this.store;
    for (const sku of skus) this.store.assertServing(keys.partitionOfSku(sku));
    const replies = (await this.store.pipelined(skus.map((sku) => keys.stock(sku)), (pipeline, key) => pipeline.hmget(key, 'version', 'buckets'))) as (string | null)[][];
    const versions = replies.map(([version]) => (version === null ? null : Number(version)));
    // A split SKU changes with any of its buckets: the sum of their counters (as its views count it).
    const others = replies.flatMap(([, buckets], n) => (buckets ? bucketSkus(skus[n], Number(buckets)).slice(1).map((name) => ({ n, name })) : []));
    if (!others.length) return versions;
    const more = await this.store.pipelined(others.map(({ name }) => keys.stock(name)), (pipeline, key) => pipeline.hget(key, 'version'));
    others.forEach(({ n }, k) => (versions[n] = (versions[n] ?? 0) + Number(more[k] ?? 0)));
    return versions;
  }

  /** Redis server time in ms: the clock that decides expiry. */
  redisTimeMs(): Promise<number> {
    return this.store.timeMs();
  }
}

import type { SkuView } from '../domain/sku';
import type { RedisStore } from './redisStore';
import { skuViewOf } from './stockHash';

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
    return states;
  }

  /**
   * Each SKU's change counter, one field read per SKU (null where the SKU is missing): the cheap
   * question live events ask ten times a second before reading a changed SKU whole.
   */
  async getSkuVersions(skus: readonly string[]): Promise<(number | null)[]> {
    const { keys } = this.store;
    for (const sku of skus) this.store.assertServing(keys.partitionOfSku(sku));
    const replies = await this.store.pipelined(skus.map((sku) => keys.stock(sku)), (pipeline, key) => pipeline.hget(key, 'version'));
    return replies.map((reply) => (reply === null ? null : Number(reply)));
  }

  /** Redis server time in ms: the clock that decides expiry. */
  redisTimeMs(): Promise<number> {
    return this.store.timeMs();
  }
}

import type { RedisClient } from './connect';
import { RedisKeys } from './keys';
import { ReconcileLease } from './reconcileLease';
import { DEFAULT_TUNING, type EngineTuning, RedisStore } from './redisStore';
import { defineScripts } from './scripts';
import { StockEngine } from './stockEngine';
import { StockMaintenance } from './stockMaintenance';

/** Everything the engine does with Redis, split by who calls it. */
export interface StockServices {
  /** Client operations: what the API calls. */
  engine: StockEngine;
  /** Sweep, counters, repair, restore and the outbox: what the reconciler and the cold start call. */
  maintenance: StockMaintenance;
  /** One reconciler pass at a time across every engine. */
  lease: ReconcileLease;
}

/**
 * Builds the engine's Redis services on a connected client, the same way for the server, its
 * background thread, the command line, the tests and the bench.
 */
export function createStockServices(client: RedisClient, settings: { keyPrefix: string; partitions?: number; tuning?: Partial<EngineTuning> }): StockServices {
  defineScripts(client);
  const store = new RedisStore(client, new RedisKeys(settings.keyPrefix, settings.partitions), { ...DEFAULT_TUNING, ...settings.tuning });
  return { engine: new StockEngine(store), maintenance: new StockMaintenance(store), lease: new ReconcileLease(store) };
}

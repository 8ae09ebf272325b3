import type { Config } from '../config';
import type { RedisClient } from './connect';
import { RedisKeys } from './keys';
import { type Lease, reconcileLease } from './lease';
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
  lease: Lease;
}

/** What createStockServices takes. */
export interface StockSettings {
  keyPrefix: string;
  partitions?: number;
  tuning?: Partial<EngineTuning>;
}

/**
 * The settings of a process's stock services, from its configuration: the same for the request
 * thread and the background thread whose reconciler passes drain the outbox (REDIS_WAIT_REPLICAS
 * holds there too: Postgres learns only what the replicas have).
 */
export function stockSettingsOf(config: Config): Required<StockSettings> {
  return {
    keyPrefix: config.keyPrefix,
    partitions: config.redisPartitions,
    tuning: { recordRetentionSeconds: config.recordRetentionSeconds, defaultHoldTtlSeconds: config.reservationTtlSeconds, redisWait: config.redisWait },
  };
}

/**
 * Builds the engine's Redis services on a connected client, the same way for the server, its
 * background thread, the command line, the tests and the bench.
 */
export function createStockServices(client: RedisClient, settings: StockSettings): StockServices {
  defineScripts(client);
  const store = new RedisStore(client, new RedisKeys(settings.keyPrefix, settings.partitions), { ...DEFAULT_TUNING, ...settings.tuning });
  return { engine: new StockEngine(store), maintenance: new StockMaintenance(store), lease: reconcileLease(store) };
}

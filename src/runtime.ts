import type { Cluster, Redis } from 'ioredis';
import type { Config } from './config';
import { type DatabaseHandle, openDatabase } from './db/client';
import { connectWithRetry, createRedisClient } from './redis/connect';
import { type EmbeddedRedis, startEmbeddedRedis } from './redis/embeddedRedis';
import { RedisKeys } from './redis/keys';
import { defineScripts, ensureScriptsLoaded } from './redis/scripts';
import { DEFAULT_TUNING, StockEngine } from './redis/stockEngine';

/** The services one engine process (or one CLI command) works with, and how to let them go. */
export interface Runtime {
  redis: Redis | Cluster;
  engine: StockEngine;
  database: DatabaseHandle;
  /** Where Redis is, for the start-up message. */
  redisLocation: string;
  checkReady(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Connects to Redis (or starts/finds the engine-owned redis-server) and Postgres (or PGlite),
 * applies migrations and loads the Lua scripts.
 */
export async function startRuntime(config: Config): Promise<Runtime> {
  let embedded: EmbeddedRedis | undefined;
  let redisUrl = config.redisUrl;
  if (!redisUrl && !config.redisClusterNodes?.length) {
    embedded = await startEmbeddedRedis(config.dataDir);
    redisUrl = embedded.url;
  }
  const redis = createRedisClient({ url: redisUrl, clusterNodes: config.redisClusterNodes });
  // A lost connection is reported per request as 503; the client reconnects on its own.
  redis.on('error', () => {});
  let database: DatabaseHandle | undefined;
  try {
    await connectWithRetry(redis);
    database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  } catch (error) {
    redis.disconnect();
    await embedded?.stop();
    throw error;
  }
  const scripted = defineScripts(redis);
  const engine = new StockEngine(scripted, new RedisKeys(config.keyPrefix), {
    ...DEFAULT_TUNING,
    recordRetentionSeconds: config.recordRetentionSeconds,
  });
  const db = database;

  return {
    redis,
    engine,
    database: db,
    redisLocation: config.redisClusterNodes?.length
      ? `cluster ${config.redisClusterNodes.join(',')}`
      : embedded
        ? `engine-owned redis-server at ${embedded.socketPath}`
        : String(redisUrl),
    async checkReady() {
      await engine.redisTimeMs();
      await ensureScriptsLoaded(redis);
      await db.db.execute('select 1');
    },
    async stop() {
      await redis.quit().catch(() => redis.disconnect());
      await db.close();
      await embedded?.stop();
    },
  };
}

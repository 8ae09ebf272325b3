import type { Redis } from 'ioredis';
import { BackgroundServices } from './background/backgroundServices';
import type { Config } from './config';
import { type Database, openDatabase } from './db/client';
import { Reconciler } from './reconciler/reconciler';
import type { ReconcileRunner } from './reconciler/runner';
import { connectWithRetry, createRedisClient } from './redis/connect';
import { type EmbeddedRedis, startEmbeddedRedis } from './redis/embeddedRedis';
import { ensureScriptsLoaded } from './redis/scripts';
import type { StockEngine } from './redis/stockEngine';
import type { StockMaintenance } from './redis/stockMaintenance';
import { createStockServices } from './redis/stockServices';

/** The services one engine process (or one CLI command) works with, and how to let them go. */
export interface Runtime {
  redis: Redis;
  engine: StockEngine;
  maintenance: StockMaintenance;
  db: Database;
  reconciler: ReconcileRunner;
  /** Where Redis is, for the start-up message. */
  redisLocation: string;
  checkReady(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Connects to Redis (or starts/finds the engine-owned redis-server) and Postgres (or PGlite),
 * applies migrations and loads the Lua scripts. With `background`, reconciler passes and the
 * embedded Postgres run on a background thread so they never stall request handling (`npm start`);
 * without, everything runs here (`npm run reconcile`).
 */
export async function startRuntime(config: Config, options: { background: boolean }): Promise<Runtime> {
  const embedded: EmbeddedRedis | undefined = config.redisUrl ? undefined : await startEmbeddedRedis(config.dataDir);
  const redisUrl = config.redisUrl ?? embedded!.url;
  const redis = createRedisClient(redisUrl);
  // A lost connection is reported per request as 503; the client reconnects on its own.
  redis.on('error', () => {});
  const { engine, maintenance, lease } = createStockServices(redis, {
    keyPrefix: config.keyPrefix,
    tuning: { recordRetentionSeconds: config.recordRetentionSeconds },
  });

  let background: BackgroundServices | undefined;
  let db: Database;
  let reconciler: ReconcileRunner;
  let closeDatabase = async () => {};
  try {
    await connectWithRetry(redis);
    if (options.background) {
      background = await BackgroundServices.start(config, redisUrl);
      reconciler = background;
      if (config.databaseUrl) {
        const handle = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, migrate: false });
        db = handle.db;
        closeDatabase = handle.close;
      } else {
        db = background.embeddedDatabase();
      }
    } else {
      const handle = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
      db = handle.db;
      closeDatabase = handle.close;
      reconciler = new Reconciler(maintenance, lease, db);
    }
  } catch (error) {
    redis.disconnect();
    await background?.close();
    await embedded?.stop();
    throw error;
  }

  return {
    redis,
    engine,
    maintenance,
    db,
    reconciler,
    redisLocation: embedded ? `engine-owned redis-server at ${embedded.socketPath}` : String(redisUrl),
    async checkReady() {
      await engine.redisTimeMs();
      await ensureScriptsLoaded(redis);
      await db.execute('select 1');
    },
    async stop() {
      await background?.close();
      await closeDatabase();
      await redis.quit().catch(() => redis.disconnect());
      await embedded?.stop();
    },
  };
}

import type { Config } from '../config';
import { redactCredentials } from '../logOptions';
import { OutageLog } from '../outageLog';
import { BackgroundThread, type ThreadLog } from './backgroundThread';
import { processLogger } from './log';
import { PrimaryLink } from './primaryLink';
import { UnavailableError } from '../domain/errors';
import { type Database, type DatabaseHandle, openDatabase } from '../db/client';
import { Reconciler } from '../reconciler/reconciler';
import { RedisDataWatch } from '../reconciler/redisDataWatch';
import { SoldOutThread } from './soldOutThread';
import { LineTickets } from '../services/lineTickets';
import { LineWatch } from '../services/lineWatch';
import { Reservations } from '../services/reservations';
import type { ReconcileRunner } from '../reconciler/runner';
import { type RedisClient, connectWithRetry, createConfiguredClient } from '../redis/connect';
import { type EmbeddedRedis, embeddedRedisPaths, startEmbeddedRedis } from '../servers/embeddedRedis';
import type { Lease } from '../redis/lease';
import type { EngineTuning } from '../redis/redisStore';
import { ensureScriptsLoaded } from '../redis/scripts';
import type { StockEngine } from '../redis/stockEngine';
import type { StockMaintenance } from '../redis/stockMaintenance';
import { createStockServices, stockSettingsOf } from '../redis/stockServices';

/** The services one engine process (or one CLI command) works with, and how to let them go. */
export interface Runtime {
  redis: RedisClient;
  engine: StockEngine;
  maintenance: StockMaintenance;
  lease: Lease;
  reservations: Reservations;
  /** Tickets as HTTP, gRPC and the events stream answer them. */
  lineTickets: LineTickets;
  db: Database;
  reconciler: ReconcileRunner;
  dataWatch: RedisDataWatch;
  /** Serves lines whose admitted holds ran out (started with the HTTP app). */
  lineWatch: LineWatch;
  /** Set in a worker process (WORKERS > 1): its link to the primary, which hosts the shared services. */
  primary?: PrimaryLink;
  /** Where Redis and Postgres are, for the start-up message. */
  location: { redis: string; postgres: string };
  /** Requests answered 503 while Redis or Postgres does not answer, as the log tells them. */
  outages: OutageLog;
  /** Starts answering refusals of SKUs seen sold out from what this process knows, with its reads where the options say. */
  watchSoldOut(): Promise<void>;
  checkReady(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Where reconciler passes (and the embedded Postgres) run:
 * - `in-thread`: in this thread (CLI, tests);
 * - `background-thread`: on a background thread of this process, so they never stall request
 *   handling (`npm start` with WORKERS=1);
 * - `in-primary`: in the primary process, reached over IPC (a worker of `npm start` with
 *   WORKERS > 1, worker.ts); the primary also owns the engine-owned redis-server, which this
 *   process connects to and never starts.
 */
export type RuntimeServices = 'in-thread' | 'background-thread' | 'in-primary';

export interface RuntimeOptions {
  services: RuntimeServices;
  /** Which worker this process is (1..WORKERS), with `in-primary`. */
  worker?: number;
  tuning?: Partial<EngineTuning>;
  /** The embedded Postgres in memory instead of under DATA_DIR (tests). */
  inMemoryDatabase?: boolean;
  /**
   * Where the reads of SKUs seen sold out run (src/redis/soldOutWatch.ts): on a thread of their
   * own (the default, except for `in-thread`), whose event loop thousands of connections do not
   * hold up, or on this one.
   */
  soldOutReads?: 'own-thread' | 'this-thread';
  /** Where the engine tells what happens off its requests (a background thread that died): Fastify's logger. */
  log?: ThreadLog;
}

/**
 * Connects to Redis (or starts/finds the engine-owned redis-server) and Postgres (or PGlite),
 * applies migrations and builds the engine's services on them, the same way for the server, the
 * command line and the tests. The caller decides when to restore what Redis lacks (dataWatch).
 */
export async function startRuntime(config: Config, options: RuntimeOptions): Promise<Runtime> {
  const inPrimary = options.services === 'in-primary';
  const external = config.redisUrl || config.redisClusterNodes;
  const embedded: EmbeddedRedis | undefined = external || inPrimary ? undefined : await startEmbeddedRedis(config.dataDir);
  const redisUrl = config.redisUrl ?? embedded?.url ?? embeddedRedisPaths(config.dataDir).socketPath;
  const redis = createConfiguredClient(config, redisUrl);
  // A lost connection is reported per request as 503; the client reconnects on its own.
  redis.on('error', () => {});
  const settings = stockSettingsOf(config);
  const { engine, maintenance, lease } = createStockServices(redis, { ...settings, tuning: { ...settings.tuning, ...options.tuning } });

  let background: BackgroundThread | undefined;
  let primary: PrimaryLink | undefined;
  let database: DatabaseHandle | undefined;
  let db: Database;
  let reconciler: ReconcileRunner;
  try {
    await connectWithRetry(redis);
    if (inPrimary) primary = new PrimaryLink(options.worker ?? 1);
    else if (options.services === 'background-thread') background = await BackgroundThread.start(config, redisUrl, options.log ?? processLogger(config.logLevel, {}));
    // Passes, and the embedded Postgres, live elsewhere: in the background thread or the primary.
    const remote = primary ?? background;
    if (remote) {
      reconciler = remote;
      if (config.databaseUrl) {
        database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, migrate: false });
        db = database.db;
      } else {
        db = remote.embeddedDatabase();
      }
    } else {
      database = await openDatabase({ url: config.databaseUrl, dataDir: options.inMemoryDatabase ? 'memory://' : config.dataDir });
      db = database.db;
      reconciler = new Reconciler(maintenance, lease, db);
    }
  } catch (error) {
    redis.disconnect();
    primary?.close();
    await background?.close();
    await embedded?.stop();
    throw error;
  }

  const dataWatch = new RedisDataWatch(maintenance, db);
  const reservations = new Reservations(engine, db, reconciler);
  const runtime: Runtime = {
    redis,
    engine,
    maintenance,
    lease,
    reservations,
    lineTickets: new LineTickets(engine, reservations),
    db,
    reconciler,
    dataWatch,
    lineWatch: new LineWatch(engine, maintenance, config.redisPartitions),
    primary,
    location: {
      redis: config.redisClusterNodes
        ? `Redis Cluster at ${config.redisClusterNodes.map(({ host, port }) => `${host}:${port}`).join(',')}`
        : config.redisUrl
          ? redactCredentials(String(redisUrl))
          : `engine-owned redis-server at ${redisUrl}`,
      postgres: config.databaseUrl ? 'DATABASE_URL' : options.inMemoryDatabase ? 'PGlite in memory' : `PGlite in ${config.dataDir}/pglite`,
    },
    /**
     * Rejects with 503 naming what is not ready (a Postgres failure is mapped by the error
     * handler): GET /ready and the gRPC health service answer from it.
     */
    async checkReady() {
      dataWatch.assertServing();
      await engine.redisTimeMs();
      await engine.assertReplicasOnline();
      await ensureScriptsLoaded(redis).catch((error) => {
        throw new UnavailableError('Redis', error);
      });
      await db.execute('select 1');
    },
    outages: new OutageLog(() => runtime.checkReady()),
    async watchSoldOut() {
      const ownThread = (options.soldOutReads ?? (options.services === 'in-thread' ? 'this-thread' : 'own-thread')) === 'own-thread';
      engine.soldOut.watch(ownThread ? await SoldOutThread.start(config, redisUrl, engine.soldOut.board) : undefined);
    },
    async stop() {
      runtime.outages.close();
      await background?.close();
      primary?.close();
      await database?.close();
      await redis.quit().catch(() => redis.disconnect());
      await embedded?.stop();
    },
  };
  return runtime;
}

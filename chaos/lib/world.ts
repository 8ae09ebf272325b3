import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import pg from 'postgres';
import { freePort } from '../../tools/freePort';
import { ENGINE_NODE_FLAGS } from '../../src/process/nodeFlags';
import { httpAnswers } from '../../src/servers/readiness';
import { type ServerProcess, startServerProcess } from '../../src/servers/serverProcess';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../tools/throwawayPostgres';
import { startThrowawayRedis, type ThrowawayRedis } from '../../tools/throwawayRedis';
import { startThrowawayRedisCluster, type ThrowawayRedisCluster } from '../../tools/throwawayRedisCluster';

export const CHAOS_ADMIN_TOKEN = 'chaos-admin-token';
export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** One engine process (`node --import tsx src/main.ts`, WORKERS as the world says) on fixed HTTP and gRPC ports, killable and restartable. */
export interface Engine {
  name: string;
  url: string;
  port: number;
  /** `host:port` of its gRPC interface (GRPC_PORT). */
  grpcAddress: string;
  running(): boolean;
  /** kill -9, waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once /health answers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function startEngine(name: string, env: Record<string, string>, logDir?: string): Promise<Engine> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const grpcPort = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `fs-chaos-${name}-`));
  let server: ServerProcess | undefined;
  const start = async () => {
    server = await startServerProcess({
      name: `engine ${name} on ${url}`,
      command: process.execPath,
      args: [...ENGINE_NODE_FLAGS, '--import', 'tsx', 'src/main.ts'],
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ADMIN_TOKEN: CHAOS_ADMIN_TOKEN, ...env, DATA_DIR: dataDir, PORT: String(port), GRPC_PORT: String(grpcPort), HOST: '127.0.0.1' },
      ready: () => httpAnswers(`${url}/health`),
      startTimeoutMs: 60_000,
      pollMs: 100,
      outputFile: logDir && path.join(logDir, `engine-${name}.log`),
    });
  };
  await start();
  return {
    name,
    url,
    port,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    running: () => server !== undefined,
    async kill() {
      const dying = server;
      server = undefined;
      await dying?.stop({ signal: 'SIGKILL' });
    },
    async start() {
      if (!server) await start();
    },
    async stop() {
      const dying = server;
      server = undefined;
      await dying?.stop({ signal: 'SIGTERM', graceMs: 5000 });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface World {
  cluster: boolean;
  postgres: ThrowawayPostgres;
  /** One Redis (AOF always), unless `cluster`. */
  redis?: ThrowawayRedis;
  /** A 3-master cluster with one replica each (AOF always), when `cluster`. */
  redisCluster?: ThrowawayRedisCluster;
  engines: Engine[];
  /** The environment the engines run with (the servers they share): a CLI pass gets it too. */
  engineEnv: Record<string, string>;
  /** A client of our own on the engines' Redis (raw counters, faults). */
  redisClient(): Redis | Cluster;
  partitions: number;
  /** REDIS_WAIT_REPLICAS of the engines: with 1 or more, a promoted replica has every acknowledged write. */
  waitReplicas: number;
  stop(): Promise<void>;
}

/** How the engines of a campaign are set up: the configurations a user can choose. */
export interface WorldOptions {
  cluster: boolean;
  /** WORKERS of each engine (default 1). */
  workers?: number;
  /** REDIS_PARTITIONS (default: 1 on one Redis, 16 on the cluster). */
  partitions?: number;
  /** REDIS_WAIT_REPLICAS (default 0: acknowledged before any replica has it). */
  waitReplicas?: number;
  log?: (line: string) => void;
  /** A directory that gets each engine's whole output (engine-A.log, engine-B.log). */
  engineLogDir?: string;
}

/** Starts the servers and two engine processes sharing them, both at once on the empty database. */
export async function startWorld(options: WorldOptions): Promise<World> {
  const log = options.log ?? (() => {});
  const partitions = options.partitions ?? (options.cluster ? 16 : 1);
  const postgres = await startThrowawayPostgres();
  // The throwaway server runs with synchronous_commit=off: a crash (our kill) would lose transactions
  // it acknowledged, which no engine can survive. Sessions of this database commit durably again
  // (fsync=off only risks an operating-system crash, which the campaign never injects).
  const admin = pg(postgres.url, { max: 1, onnotice: () => {} });
  await admin`alter database postgres set synchronous_commit = on`;
  await admin.end();
  log(`postgres on port ${postgres.port} (synchronous_commit on)`);
  let redis: ThrowawayRedis | undefined;
  let redisCluster: ThrowawayRedisCluster | undefined;
  const engines: Engine[] = [];
  let env: Record<string, string> | undefined;
  try {
    if (options.cluster) {
      redisCluster = await startThrowawayRedisCluster({ masters: 3, replicasPerMaster: 1, appendonly: true });
      log(`redis cluster: masters ${redisCluster.masters.join(',')}, replicas ${redisCluster.replicas.map((r) => r.port).join(',')}`);
    } else {
      redis = await startThrowawayRedis({ appendonly: true });
      log(`redis on port ${redis.port} (AOF always)`);
    }
    env = {
      DATABASE_URL: postgres.url,
      RECONCILE_CRON: '*/1 * * * * *',
      RESERVATION_TTL_SECONDS: '5',
      WORKERS: String(options.workers ?? 1),
      REDIS_PARTITIONS: String(partitions),
      REDIS_WAIT_REPLICAS: String(options.waitReplicas ?? 0),
      ...(redisCluster ? { REDIS_CLUSTER_NODES: redisCluster.nodesList, REDIS_URL: '' } : { REDIS_URL: redis!.url }),
    };
    // At the same instant, as a deployment rolls out replicas: their migrations must not collide.
    const started = await Promise.allSettled(['A', 'B'].map((name) => startEngine(name, env!, options.engineLogDir)));
    for (const result of started) if (result.status === 'fulfilled') engines.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    for (const engine of engines) log(`engine ${engine.name} on ${engine.url} (WORKERS=${env.WORKERS}, REDIS_PARTITIONS=${partitions}, REDIS_WAIT_REPLICAS=${env.REDIS_WAIT_REPLICAS})`);
  } catch (error) {
    await Promise.allSettled([...engines.map((e) => e.stop()), redis?.stop(), redisCluster?.stop(), postgres.stop()]);
    throw error;
  }
  let client: Redis | Cluster | undefined;
  return {
    cluster: options.cluster,
    postgres,
    redis,
    redisCluster,
    engines,
    engineEnv: { ...env!, ADMIN_TOKEN: CHAOS_ADMIN_TOKEN },
    partitions,
    waitReplicas: options.waitReplicas ?? 0,
    redisClient() {
      if (!client) {
        client = redisCluster
          ? new Cluster(redisCluster.nodes, { clusterRetryStrategy: (times) => Math.min(100 * times, 1000), redisOptions: { commandTimeout: 3000 } })
          : new Redis(redis!.url, { commandTimeout: 3000, retryStrategy: (times) => Math.min(100 * times, 1000) });
        client.on('error', () => {});
      }
      return client;
    },
    async stop() {
      client?.disconnect();
      await Promise.allSettled(engines.map((engine) => engine.stop()));
      await Promise.allSettled([redis?.stop(), redisCluster?.stop(), postgres.stop()]);
    },
  };
}

import os from 'node:os';
import path from 'node:path';
import { MAX_PARTITIONS } from './domain/ids';

/** Engine settings, read from the environment once and validated; see docs/configuration.md. */
export interface Config {
  port: number;
  host: string;
  /** LISTEN_BACKLOG: connections the kernel queues before the server accepts them (it caps this at net.core.somaxconn). */
  listenBacklog: number;
  /** GRPC_PORT: the gRPC interface's port on `host` (0: any free one); undefined: `off`, no gRPC server. */
  grpcPort: number | undefined;
  redisUrl: string | undefined;
  /** REDIS_CLUSTER_NODES: some nodes of a Redis Cluster (the client finds the rest); wins over redisUrl. */
  redisClusterNodes: RedisNode[] | undefined;
  databaseUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  apiToken: string | undefined;
  /** METRICS_TOKEN: bearer token for /metrics; unset, /metrics is open. */
  metricsToken: string | undefined;
  /** METRICS_PER_SKU (default on): the per-SKU gauges; `off` for large catalogues. */
  metricsPerSku: boolean;
  /** WEBHOOK_ALLOW_PRIVATE: webhook URLs may name loopback, private and other non-public hosts. */
  webhookAllowPrivate: boolean;
  reservationTtlSeconds: number;
  reconcileCron: string;
  recordRetentionSeconds: number;
  keyPrefix: string;
  /** REDIS_PARTITIONS: hash-tagged partitions the keys are spread over (default 1 on one Redis, 16 on a cluster). */
  redisPartitions: number;
  /**
   * REDIS_WAIT_REPLICAS (default 0, off): a write a client is told about is answered only once this
   * many replicas of its shard have it (WAIT), within REDIS_WAIT_TIMEOUT_MS (default 200).
   */
  redisWait: { replicas: number; timeoutMs: number };
  logLevel: string;
  /** HTTP worker processes on this machine (WORKERS; `auto`: one per core); 1 runs one process. */
  workers: number;
  /** How deliveries of webhook events are sent and retried (see src/webhooks/dispatcher.ts). */
  webhooks: { timeoutMs: number; retryBaseMs: number; retryForMs: number };
}

/** A Redis server's TCP address. */
export interface RedisNode {
  host: string;
  port: number;
}

export class ConfigError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** A switch: on/true/yes/1 or off/false/no/0 (any case); unset or empty, `fallback`. */
function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (/^(on|true|yes|1)$/i.test(raw)) return true;
  if (/^(off|false|no|0)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be on or off, got "${raw}"`);
}

/** GRPC_PORT: 50051 unless set; `off` serves no gRPC. */
function grpcPort(env: NodeJS.ProcessEnv): number | undefined {
  if (env.GRPC_PORT === 'off') return undefined;
  try {
    return integer(env, 'GRPC_PORT', 50051, 0, 65535);
  } catch {
    throw new ConfigError(`GRPC_PORT must be "off" or an integer from 0 to 65535, got "${env.GRPC_PORT}"`);
  }
}

/** REDIS_CLUSTER_NODES: `host:port,host:port,…` (an IPv6 host in brackets, `[::1]:7000`). */
function clusterNodes(env: NodeJS.ProcessEnv): RedisNode[] | undefined {
  const raw = optional(env, 'REDIS_CLUSTER_NODES');
  if (raw === undefined) return undefined;
  return raw.split(',').map((entry) => {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(entry.trim());
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65535) {
      throw new ConfigError(`REDIS_CLUSTER_NODES must be a comma list of host:port (port 1 to 65535), got the entry "${entry}" in "${raw}"`);
    }
    return { host: match[1] ?? match[2], port };
  });
}

/** Prefix of every Redis key unless KEY_PREFIX says otherwise. */
export const DEFAULT_KEY_PREFIX = 'fs';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const keyPrefix = optional(env, 'KEY_PREFIX') ?? DEFAULT_KEY_PREFIX;
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(keyPrefix)) {
    throw new ConfigError(`KEY_PREFIX must match ^[A-Za-z0-9_-]{1,32}$, got "${keyPrefix}"`);
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: optional(env, 'HOST') ?? '127.0.0.1',
    // Node's default, 511, drops the SYNs of a thousand shoppers connecting at once (a retry costs them a second).
    listenBacklog: integer(env, 'LISTEN_BACKLOG', 8192, 1, 1_000_000),
    grpcPort: grpcPort(env),
    redisUrl: optional(env, 'REDIS_URL'),
    redisClusterNodes: clusterNodes(env),
    databaseUrl: optional(env, 'DATABASE_URL'),
    dataDir: path.resolve(optional(env, 'DATA_DIR') ?? './.data'),
    adminToken: optional(env, 'ADMIN_TOKEN'),
    apiToken: optional(env, 'API_TOKEN'),
    metricsToken: optional(env, 'METRICS_TOKEN'),
    metricsPerSku: onOff(env, 'METRICS_PER_SKU', true),
    webhookAllowPrivate: onOff(env, 'WEBHOOK_ALLOW_PRIVATE', false),
    reservationTtlSeconds: integer(env, 'RESERVATION_TTL_SECONDS', 900, 1, 3600),
    reconcileCron: optional(env, 'RECONCILE_CRON') ?? '*/5 * * * * *',
    recordRetentionSeconds: integer(env, 'RECORD_RETENTION_SECONDS', 3600, 60, 30 * 86400),
    keyPrefix,
    redisPartitions: integer(env, 'REDIS_PARTITIONS', optional(env, 'REDIS_CLUSTER_NODES') ? 16 : 1, 1, MAX_PARTITIONS),
    redisWait: {
      replicas: integer(env, 'REDIS_WAIT_REPLICAS', 0, 0, 16),
      // Below the client's 2 s command timeout, which also bounds the script before the WAIT.
      timeoutMs: integer(env, 'REDIS_WAIT_TIMEOUT_MS', 200, 1, 1500),
    },
    logLevel: optional(env, 'LOG_LEVEL') ?? 'info',
    workers: env.WORKERS === 'auto' ? os.availableParallelism() : integer(env, 'WORKERS', 1, 1, 256),
    webhooks: {
      timeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
      retryBaseMs: integer(env, 'WEBHOOK_RETRY_BASE_MS', 1000, 10, 3_600_000),
      retryForMs: integer(env, 'WEBHOOK_RETRY_FOR_SECONDS', 86_400, 1, 7 * 86_400) * 1000,
    },
  };
}

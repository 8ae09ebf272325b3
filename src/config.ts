import path from 'node:path';

/** Engine settings, read from the environment once and validated; see README "Configuration". */
export interface Config {
  port: number;
  host: string;
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  apiToken: string | undefined;
  reservationTtlSeconds: number;
  reconcileCron: string;
  recordRetentionSeconds: number;
  keyPrefix: string;
  logLevel: string;
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

/** Prefix of every Redis key unless KEY_PREFIX says otherwise. */
export const DEFAULT_KEY_PREFIX = 'fs';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const keyPrefix = optional(env, 'KEY_PREFIX') ?? DEFAULT_KEY_PREFIX;
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(keyPrefix)) {
    throw new ConfigError(`KEY_PREFIX must match ^[A-Za-z0-9_-]{1,32}$, got "${keyPrefix}"`);
  }
  if (optional(env, 'REDIS_CLUSTER_NODES')) {
    // A reservation's record, idempotency key and outbox live in other slots than its SKU's keys,
    // so the scripts would fail with CROSSSLOT on a cluster: refuse rather than fail per request.
    throw new ConfigError('REDIS_CLUSTER_NODES is not supported yet: point REDIS_URL at a single Redis (with replicas for failover).');
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: optional(env, 'HOST') ?? '127.0.0.1',
    redisUrl: optional(env, 'REDIS_URL'),
    databaseUrl: optional(env, 'DATABASE_URL'),
    dataDir: path.resolve(optional(env, 'DATA_DIR') ?? './.data'),
    adminToken: optional(env, 'ADMIN_TOKEN'),
    apiToken: optional(env, 'API_TOKEN'),
    reservationTtlSeconds: integer(env, 'RESERVATION_TTL_SECONDS', 900, 1, 3600),
    reconcileCron: optional(env, 'RECONCILE_CRON') ?? '*/5 * * * * *',
    recordRetentionSeconds: integer(env, 'RECORD_RETENTION_SECONDS', 3600, 60, 30 * 86400),
    keyPrefix,
    logLevel: optional(env, 'LOG_LEVEL') ?? 'info',
  };
}

import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import postgres from 'postgres';
import type { RedisClient } from '../../src/redis/connect';
import { inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config';
import type { Database } from '../../src/db/client';
import buildApp, { serverOptions } from '../../src/http/app';
import type { EngineMetrics } from '../../src/metrics';
import type { RedisDataWatch } from '../../src/reconciler/redisDataWatch';
import type { ReconcileRunner } from '../../src/reconciler/runner';
import { encodeHoldMember } from '../../src/redis/holdMember';
import { RedisKeys } from '../../src/redis/keys';
import type { ReconcileLease } from '../../src/redis/reconcileLease';
import type { EngineTuning } from '../../src/redis/redisStore';
import { decodeReservationRecord, encodeReservationRecord } from '../../src/redis/reservationRecord';
import type { StockEngine } from '../../src/redis/stockEngine';
import type { StockMaintenance } from '../../src/redis/stockMaintenance';

export const ADMIN_TOKEN = 'test-admin-token';
export const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };

export type DatabaseTarget = 'postgres' | 'pglite';

export interface TestContext {
  app: FastifyInstance;
  engine: StockEngine;
  maintenance: StockMaintenance;
  lease: ReconcileLease;
  /** The engine's own client (scripts defined); use it to read or tamper with raw keys. */
  redis: RedisClient;
  keys: RedisKeys;
  db: Database;
  config: Config;
  metrics: EngineMetrics;
  reconciler: ReconcileRunner;
  dataWatch: RedisDataWatch;
  /** Base URL when started with `listen: true`. */
  baseUrl: string;
  close(): Promise<void>;
}

export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** A fresh Postgres database on the shared test server (or the one given), dropped again by the returned function. */
export async function createTestDatabase(adminUrl = inject('postgresUrl')): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = uniqueName('t_');
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  return {
    url: adminUrl.replace(/\/postgres$/, `/${name}`),
    drop: async () => {
      const again = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await again.unsafe(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}

/**
 * An engine wired like `npm start` but on the shared test servers, in a key namespace and
 * database of its own, so test files never see each other's data.
 */
export async function createTestContext(
  options: {
    database?: DatabaseTarget;
    redisUrl?: string;
    /** Admin URL of a Postgres server of the test's own (default: the shared one). */
    postgresUrl?: string;
    env?: Record<string, string>;
    tuning?: Partial<EngineTuning>;
    listen?: boolean;
    /** How often the engine checks that Redis still holds its data (default 1 s). */
    dataWatchIntervalMs?: number;
  } = {},
): Promise<TestContext> {
  const target = options.database ?? 'postgres';
  const testDb = target === 'postgres' ? await createTestDatabase(options.postgresUrl) : undefined;
  const config = loadConfig({
    ADMIN_TOKEN,
    KEY_PREFIX: uniqueName('t'),
    LOG_LEVEL: 'silent',
    REDIS_URL: options.redisUrl ?? inject('redisUrl'),
    ...(testDb ? { DATABASE_URL: testDb.url } : {}),
    ...options.env,
  });
  // The app as npm start builds it, with the reconciler in this thread and PGlite in memory.
  const app = Fastify(serverOptions('silent'));
  await app.register(buildApp, {
    config,
    runtime: { services: 'in-thread', tuning: options.tuning, inMemoryDatabase: true },
    dataWatchIntervalMs: options.dataWatchIntervalMs,
  });
  let baseUrl = '';
  if (options.listen) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    baseUrl = `http://127.0.0.1:${address.port}`;
  } else {
    await app.ready();
  }
  const { engine, maintenance, lease, redis, db, reconciler, dataWatch } = app.runtime;
  const keys = new RedisKeys(config.keyPrefix, config.redisPartitions);
  return {
    app,
    engine,
    maintenance,
    lease,
    redis,
    keys,
    db,
    config,
    metrics: app.metrics,
    reconciler,
    dataWatch,
    baseUrl,
    async close() {
      // The namespace's keys go first, while the engine's connection is still open.
      const leftovers = await redis.keys(keys.everything()).catch(() => []);
      if (leftovers.length) await redis.del(...leftovers).catch(() => {});
      await app.close();
      await testDb?.drop().catch(() => {});
    },
  };
}

/** Creates a SKU through the admin API and returns its view. */
export async function createSku(ctx: TestContext, sku: string, body: Record<string, unknown>) {
  const response = await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: body });
  if (response.statusCode !== 201 && response.statusCode !== 200) {
    throw new Error(`creating ${sku} failed: ${response.statusCode} ${response.body}`);
  }
  return response.json();
}

/** Reads a SKU's raw counters straight from Redis. */
export async function rawCounters(ctx: TestContext, sku: string) {
  const values = await ctx.redis.hmget(ctx.keys.stock(sku), 'total', 'available', 'reserved', 'sold');
  const [total, available, reserved, sold] = values.map(Number);
  return { total, available, reserved, sold };
}

/** A reservation record's fields, parsed from its raw string (lua/includes/reservationRecord.lua). */
export async function readRecord(ctx: TestContext, id: string) {
  const raw = await ctx.redis.get(ctx.keys.reservation(id));
  if (raw === null) return null;
  const { status, createdAtMs, expiresAtMs, finishedAt, userId, orderId, lines } = decodeReservationRecord(raw);
  return { status, createdAt: createdAtMs, expiresAt: expiresAtMs, finishedAt, userId, orderId, lines: lines.map((line) => line.join('|')).join(',') };
}

/** Tampering: moves a pending reservation's expiry in its record and in its SKU's expiry index. */
export async function moveExpiry(ctx: TestContext, id: string, sku: string, units: number, expiresAt: number): Promise<void> {
  const record = decodeReservationRecord((await ctx.redis.get(ctx.keys.reservation(id)))!);
  await ctx.redis
    .multi()
    .set(ctx.keys.reservation(id), encodeReservationRecord({ ...record, expiresAtMs: expiresAt }), 'KEEPTTL')
    .zadd(ctx.keys.expiry(sku), expiresAt, encodeHoldMember({ reservationId: id, units, userId: record.userId }))
    .exec();
}

/** Invariant 1 of DESIGN.md: available + reserved + sold == total, nothing negative. */
export function conserved(counters: { total: number; available: number; reserved: number; sold: number }): boolean {
  const { total, available, reserved, sold } = counters;
  return available + reserved + sold === total && available >= 0 && reserved >= 0 && sold >= 0;
}

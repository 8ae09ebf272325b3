import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Cluster } from 'ioredis';
import postgres from 'postgres';
import type { RedisClient } from '../../src/redis/connect';
import { expect, inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config';
import type { Database } from '../../src/db/client';
import buildApp, { serverOptions } from '../../src/http/app';
import type { EngineMetrics } from '../../src/metrics';
import type { RedisDataWatch } from '../../src/reconciler/redisDataWatch';
import { applyEntries } from '../../src/reconciler/applyEntries';
import type { ReconcileRunner } from '../../src/reconciler/runner';
import type { RuntimeOptions } from '../../src/process/runtime';
import { encodeHoldMember } from '../../src/redis/holdMember';
import { combineHoldUnits, encodeHoldUnits } from '../../src/redis/holdUnits';
import { skuViewOf } from '../../src/redis/stockHash';
import { isConserved } from '../../src/domain/sku';
import { RedisKeys } from '../../src/redis/keys';
import type { Lease } from '../../src/redis/lease';
import type { EngineTuning } from '../../src/redis/redisStore';
import type { OutboxEntry } from '../../src/redis/outboxEntry';
import { decodeReservationRecord, encodeReservationRecord } from '../../src/redis/reservationRecord';
import type { StockEngine } from '../../src/redis/stockEngine';
import type { StockMaintenance } from '../../src/redis/stockMaintenance';

export const ADMIN_TOKEN = 'test-admin-token';
export const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };

export type DatabaseTarget = 'postgres' | 'pglite';

/** Which Redis an engine runs on: the shared single redis-server, or the shared 3-master Redis Cluster. */
export type RedisTarget = 'single' | 'cluster';
/** Both, for `describe.each`: the stock tests run on each. */
export const REDIS_TARGETS: RedisTarget[] = ['single', 'cluster'];

export interface TestContext {
  app: FastifyInstance;
  engine: StockEngine;
  maintenance: StockMaintenance;
  lease: Lease;
  /**
   * The engine's own client (scripts defined); use it to read or tamper with raw keys. A Cluster
   * client with `redis: 'cluster'`: the keys of one command, MULTI or script must share a partition.
   */
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

/** A fresh name (`prefix` then random hex) whose partition, as `of` computes it, is `partition`. */
export function nameIn(partition: number, prefix: string, of: (name: string) => number): string {
  for (;;) {
    const name = uniqueName(prefix);
    if (of(name) === partition) return name;
  }
}

/** A fresh SKU name in `partition` of the context's layout (always partition 0 on one partition). */
export function skuIn(ctx: TestContext, partition: number, prefix = 'sku-'): string {
  return nameIn(partition, prefix, (sku) => ctx.keys.partitionOfSku(sku));
}

/** A fresh user id in `partition` of the context's layout. */
export function userIn(ctx: TestContext, partition: number, prefix = 'user-'): string {
  return nameIn(partition, prefix, (userId) => ctx.keys.partitionOfUser(userId));
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
    /**
     * 'single' (default): REDIS_URL, the shared redis-server (or `redisUrl`); 'cluster':
     * REDIS_CLUSTER_NODES, the shared Redis Cluster (16 partitions unless `env` says otherwise).
     */
    redis?: RedisTarget;
    redisUrl?: string;
    /** Admin URL of a Postgres server of the test's own (default: the shared one). */
    postgresUrl?: string;
    env?: Record<string, string>;
    tuning?: Partial<EngineTuning>;
    listen?: boolean;
    /** How often the engine checks that Redis still holds its data (default 1 s). */
    dataWatchIntervalMs?: number;
    /** Where the sold-out reads run (default: this thread, as for every in-thread runtime). */
    soldOutReads?: RuntimeOptions['soldOutReads'];
  } = {},
): Promise<TestContext> {
  const target = options.database ?? 'postgres';
  const testDb = target === 'postgres' ? await createTestDatabase(options.postgresUrl) : undefined;
  const config = loadConfig({
    ADMIN_TOKEN,
    KEY_PREFIX: uniqueName('t'),
    LOG_LEVEL: 'silent',
    ...(options.redis === 'cluster'
      ? { REDIS_CLUSTER_NODES: inject('redisClusterNodes') }
      : { REDIS_URL: options.redisUrl ?? inject('redisUrl') }),
    ...(testDb ? { DATABASE_URL: testDb.url } : {}),
    ...options.env,
  });
  // The app as npm start builds it, with the reconciler in this thread and PGlite in memory.
  const app = Fastify(serverOptions('silent'));
  await app.register(buildApp, {
    config,
    runtime: { services: 'in-thread', tuning: options.tuning, inMemoryDatabase: true, soldOutReads: options.soldOutReads },
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
      await deleteMatching(redis, keys.everything()).catch(() => {});
      await app.close();
      await testDb?.drop().catch(() => {});
    },
  };
}

/** Two engine processes on the same Redis and keys, both listening: what one does, the other sees. */
export async function createTwoEngines(redis: RedisTarget, soldOutReads?: RuntimeOptions['soldOutReads']): Promise<{ ctx: TestContext; other: TestContext; close(): Promise<void> }> {
  const ctx = await createTestContext({ redis, listen: true, soldOutReads });
  const other = await createTestContext({ redis, listen: true, env: { KEY_PREFIX: ctx.config.keyPrefix }, soldOutReads });
  return {
    ctx,
    other,
    async close() {
      await other.close();
      await ctx.close();
    },
  };
}

/** The nodes that hold keys: every master of a Cluster, or the one server. */
function keyHolders(redis: RedisClient) {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/** Keys matching `pattern` on one server, by SCAN. */
async function scanNode(node: ReturnType<typeof keyHolders>[number], pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/**
 * Every key matching `pattern`. On a Cluster KEYS and SCAN answer for the one node they reach,
 * so every master is scanned.
 */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  return (await Promise.all(keyHolders(redis).map((node) => scanNode(node, pattern)))).flat();
}

/**
 * Deletes every key matching `pattern` (a namespace, a partition) and returns how many there were.
 * On one Redis in one DEL; on a Cluster each master deletes its own keys, one DEL each (a DEL over
 * keys of several slots is refused with CROSSSLOT), in one pipeline per master. Test namespaces
 * share the same `{p<n>}` slots there, so a slot is never flushed whole.
 */
export async function deleteMatching(redis: RedisClient, pattern: string): Promise<number> {
  const counts = await Promise.all(
    keyHolders(redis).map(async (node) => {
      // Data markers last: a partition whose marker is gone is rebuilt by the engine, and must by then hold nothing else.
      const found = (await scanNode(node, pattern)).sort((a, b) => Number(a.endsWith(':data-marker')) - Number(b.endsWith(':data-marker')));
      if (!found.length) return 0;
      if (!(redis instanceof Cluster)) return node.del(...found);
      const pipeline = node.pipeline();
      for (const key of found) pipeline.del(key);
      const replies = (await pipeline.exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
      return found.length;
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

/** Creates a SKU through the admin API and returns its view. */
export async function createSku(ctx: TestContext, sku: string, body: Record<string, unknown>) {
  const response = await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: body });
  if (response.statusCode !== 201 && response.statusCode !== 200) {
    throw new Error(`creating ${sku} failed: ${response.statusCode} ${response.body}`);
  }
  return response.json();
}

/** A reconciler pass (as the API asks for one) that must not fail: its report. */
export async function reconcilePass(ctx: TestContext) {
  const report = await ctx.reconciler.run('api');
  expect(report.error).toBeUndefined();
  return report;
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
  const { status, createdAtMs, expiresAtMs, finishedAt, userId, orderId } = decodeReservationRecord(raw);
  // The lines as the record's text holds them (its last field).
  return { status, createdAt: createdAtMs, expiresAt: expiresAtMs, finishedAt, userId, orderId, lines: raw.split('|').slice(6).join('|') };
}

/** The expiry-index member of a pending reservation's hold of one SKU, as its record says it. */
export async function holdMemberOf(ctx: TestContext, id: string, sku: string): Promise<string> {
  const record = decodeReservationRecord((await ctx.redis.get(ctx.keys.reservation(id)))!);
  const lines = record.lines.filter(([lineSku]) => lineSku === sku).map(([, , units, allocations]) => ({ units, allocations }));
  return encodeHoldMember({ reservationId: id, units: encodeHoldUnits(combineHoldUnits(lines)), userId: record.userId });
}

/** Tampering: moves a pending reservation's expiry in its record and in its SKU's expiry index. */
export async function moveExpiry(ctx: TestContext, id: string, sku: string, expiresAt: number): Promise<void> {
  const record = decodeReservationRecord((await ctx.redis.get(ctx.keys.reservation(id)))!);
  const member = await holdMemberOf(ctx, id, sku);
  await ctx.redis
    .multi()
    .set(ctx.keys.reservation(id), encodeReservationRecord({ ...record, expiresAtMs: expiresAt }), 'KEEPTTL')
    .zadd(ctx.keys.expiry(sku), expiresAt, member)
    .exec();
}

/** How a test SKU keeps its stock: in one location (a plain total), or spread over three. */
export type StockLayout = 'one location' | 'three locations';
export const STOCK_LAYOUTS: StockLayout[] = ['one location', 'three locations'];

/** A PUT body holding `total` units in `layout`: three locations split it as evenly as they can, the first taking the rest. */
export function stockBody(layout: StockLayout, total: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (layout === 'one location') return { total, ...extra };
  const share = Math.floor(total / 3);
  const totals = [total - 2 * share, share, share];
  return { locations: ['north', 'centre', 'south'].map((location, n) => ({ location, total: totals[n] })), ...extra };
}

/**
 * Invariant 1 (docs/reliability.md#1-conservation) in every location of a SKU and for the SKU: each conserved, none
 * negative, and the SKU's counters the sums of its locations'. Returns the SKU's counters.
 */
export async function expectConservedEverywhere(ctx: TestContext, sku: string) {
  const view = skuViewOf(sku, await ctx.redis.hgetall(ctx.keys.stock(sku)))!;
  const sums = { total: 0, available: 0, reserved: 0, sold: 0 };
  for (const level of view.locations) {
    if (!conserved(level)) throw new Error(`location ${level.location} of ${sku} is not conserved: ${JSON.stringify(level)}`);
    for (const field of Object.keys(sums) as (keyof typeof sums)[]) sums[field] += level[field];
  }
  const { total, available, reserved, sold } = view;
  const counters = { total, available, reserved, sold };
  if (!conserved(counters) || JSON.stringify(counters) !== JSON.stringify(sums)) {
    throw new Error(`${sku}: counters ${JSON.stringify(counters)}, sums of its locations ${JSON.stringify(sums)}`);
  }
  return counters;
}

/** Invariant 1 of docs/reliability.md#1-conservation (src/domain/sku.ts), under the name the tests use. */
export const conserved = isConserved;

/**
 * Writes outbox entries to Postgres as a drain batch does, outside any epoch (so without the
 * partition's mark, src/reconciler/applyEntries.ts) and without a fence: for tests that feed
 * batches in an order of their own.
 */
export function writeEntries(db: Database, entries: OutboxEntry[]): Promise<void> {
  return applyEntries(db, { partition: 0, epoch: null, entries }, { fence: async () => {} });
}

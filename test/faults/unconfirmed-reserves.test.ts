/**
 * A 503 tells the truth: a reserve answered 503 leaves nothing held, even when its script ran
 * after the engine stopped waiting; commit, release and extend answered 503 say their outcome is
 * unknown; Redis refusing (OOM) is 503, never 500. Against a Redis server of this file's own,
 * paused and starved for real.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, adminHeaders, conserved, createSku, createTestContext, rawCounters, skuIn, uniqueName, userIn } from '../support/context';
import { type TestRedis, startTestRedis } from '../support/servers';
import { createStockServices } from '../../src/redis/stockServices';

let server: TestRedis;
let ctx: TestContext;
/** A second connection, to pause and starve the server while the engine's own one waits. */
let operator: Redis;

beforeAll(async () => {
  server = await startTestRedis();
  ctx = await createTestContext({ redisUrl: server.url });
  operator = new Redis(server.url);
});
afterAll(async () => {
  await ctx.close();
  operator.disconnect();
  await server.stop();
});

const reserve = (sku: string, payload: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: { userId: 'u', items: [{ sku, qty: 1 }], ...payload } });

/** Waits until `condition` holds, checking every 100 ms, for at most `timeoutMs`. */
async function until(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function undone(outcome: string): Promise<number> {
  const metric = await ctx.metrics.reservesUndone.get();
  return metric.values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
}

/** Reservation ids the outbox recorded a RESERVE for (the reserve script ran). */
async function reservedIds(): Promise<string[]> {
  const entries = await ctx.redis.xrange(ctx.keys.outbox(0), '-', '+');
  return entries.flatMap(([, fields]) => JSON.parse(fields[1]).events.filter((event: unknown) => typeof event === 'string'));
}

describe('a reserve answered 503 leaves nothing held', () => {
  it('CLIENT PAUSE past the command timeout: 20 concurrent reserves answer 503, run late, and are released', async () => {
    const sku = uniqueName('paused-');
    await createSku(ctx, sku, { total: 50 });
    const releasedBefore = await undone('released');
    const scriptsRunBefore = (await reservedIds()).length;

    await operator.client('PAUSE', 3500, 'WRITE');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, n) => reserve(sku, { userId: `u${n}` }, { 'idempotency-key': `paused key ${n}` })));
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array(20).fill(503));
    expect(answers[0].json().error.message).toContain('nothing was held');

    // Redis ran every script once the pause ended; the engine then undid each hold by itself.
    await until(async () => (await undone('released')) - releasedBefore === 20);
    expect((await reservedIds()).length - scriptsRunBefore).toBe(20);
    const counters = await rawCounters(ctx, sku);
    expect(counters).toEqual({ total: 50, available: 50, reserved: 0, sold: 0 });

    // Their keys bind nothing: a retry holds once, and its repeat replays it.
    const retry = await reserve(sku, { userId: 'u0' }, { 'idempotency-key': 'paused key 0' });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotency-replayed']).toBeUndefined();
    const repeat = await reserve(sku, { userId: 'u0' }, { 'idempotency-key': 'paused key 0' });
    expect(repeat.json().id).toBe(retry.json().id);
    expect(await rawCounters(ctx, sku)).toEqual({ total: 50, available: 49, reserved: 1, sold: 0 });

    // Postgres sees each of them end released, the keys unbound, and nothing drifts.
    const report = (await ctx.reconciler.run('api')).drift;
    expect(report).toEqual([]);
    const metrics = (await ctx.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/flashsale_reserves_undone_total\{outcome="released"\} \d+/);
  });

  it('a reserve refused while the connection is down is not kept: it never reached Redis', async () => {
    const sku = uniqueName('down-');
    await createSku(ctx, sku, { total: 5 });
    const notApplied = await undone('not_applied');
    const released = await undone('released');
    await server.kill();
    try {
      await until(async () => ctx.redis.status !== 'ready', 5000);
      expect((await reserve(sku)).statusCode).toBe(503);
    } finally {
      await server.start();
    }
    await until(async () => (await reserve(sku)).statusCode === 201);
    expect(await undone('not_applied')).toBe(notApplied);
    expect(await undone('released')).toBe(released);
    expect(conserved(await rawCounters(ctx, sku))).toBe(true);
  });

  it('an engine that stops before Redis answers counts the reserves it could not undo; their holds expire', async () => {
    const own = await createTestContext({ redisUrl: server.url });
    const sku = uniqueName('stopping-');
    await createSku(own, sku, { total: 3 });
    let closed = false;
    try {
      // Long enough for the engine's last attempt at closing to time out as well.
      await operator.client('PAUSE', 5000, 'WRITE');
      const answer = await own.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u', items: [{ sku, qty: 1 }], ttlSeconds: 1 } });
      expect(answer.statusCode).toBe(503);
      await own.app.close();
      closed = true;
      const left = await own.metrics.reservesUndone.get();
      expect(left.values.find((value) => value.labels.outcome === 'left_to_expire')?.value).toBe(1);
      // Once Redis runs the late script, its one-second hold comes back to the shelf whatever
      // happens next (the undo the engine had sent, or the sweep after its expiry).
      // (Read through a connection of the test's own: the stopped engine closed its own.)
      const { maintenance } = createStockServices(operator, { keyPrefix: own.config.keyPrefix });
      const counters = async () => (await maintenance.readCounters([sku]))[0];
      await until(async () => {
        await maintenance.sweepSku(sku, 100).catch(() => {});
        return (await counters())?.reserved === 0;
      });
      expect(await counters()).toMatchObject({ total: 3, available: 3, reserved: 0, sold: 0 });
    } finally {
      if (!closed) await own.app.close();
      await own.close();
    }
  });
});

describe('a retry after a 503 is served as soon as Redis answers', () => {
  it('REDIS_PARTITIONS=4, key in another partition than the SKU: the retry on another engine holds within a second of the pause, once', async () => {
    const first = await createTestContext({ redisUrl: server.url, env: { REDIS_PARTITIONS: '4' } });
    const second = await createTestContext({ redisUrl: server.url, env: { REDIS_PARTITIONS: '4', KEY_PREFIX: first.config.keyPrefix } });
    try {
      const sku = skuIn(first, 1);
      const userId = userIn(first, 2);
      await createSku(first, sku, { total: 5 });
      const body = { userId, items: [{ sku, qty: 1 }] };
      const headers = { 'idempotency-key': 'pay-once' };
      await operator.client('PAUSE', 2300, 'ALL');
      const pausedAt = Date.now();
      const answer = await first.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: body });
      expect(answer.statusCode).toBe(503);
      while (Date.now() < pausedAt + 2300) await new Promise((resolve) => setTimeout(resolve, 20));
      const answered = Date.now();
      const statuses: number[] = [];
      let held: { statusCode: number; json(): any } | undefined;
      while (!held && Date.now() < answered + 5000) {
        const retry = await second.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: body });
        statuses.push(retry.statusCode);
        if (retry.statusCode === 201) held = retry;
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Before: 409 IDEMPOTENCY_IN_FLIGHT for the claim's 30 s.
      expect(held, `statuses: ${statuses.join(',')}`).toBeDefined();
      expect(Date.now() - answered).toBeLessThan(1500);
      expect(new Set(statuses)).toEqual(new Set(statuses.filter((status) => status === 201 || status === 409)));
      // The late hold of the first attempt is undone; the retry's is the only one, and it commits.
      await until(async () => (await rawCounters(first, sku)).reserved === 1);
      const commit = await second.app.inject({ method: 'POST', url: `/v1/reservations/${held!.json().id}/commit` });
      expect(commit.json().status).toBe('COMMITTED');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await rawCounters(first, sku)).toEqual({ total: 5, available: 4, reserved: 0, sold: 1 });
      const replay = await first.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: body });
      expect(replay.json()).toMatchObject({ id: held!.json().id, status: 'COMMITTED' });
    } finally {
      await second.app.close();
      await first.close();
    }
  });
});

describe('commit, release and extend answered 503 say the outcome is unknown', () => {
  it('a commit that timed out may have happened: its 503 says so, and a retry tells', async () => {
    const sku = uniqueName('commit-');
    await createSku(ctx, sku, { total: 2 });
    const id = (await reserve(sku)).json().id;
    await operator.client('PAUSE', 3000, 'WRITE');
    const answer = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/commit` });
    expect(answer.statusCode).toBe(503);
    expect(answer.json().error.message).toContain('may or may not have taken effect');
    await until(async () => {
      const retry = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/commit` });
      return retry.statusCode === 200 && retry.json().status === 'COMMITTED';
    });
    expect(await rawCounters(ctx, sku)).toEqual({ total: 2, available: 1, reserved: 0, sold: 1 });
  });
});

describe('Redis refusing writes', () => {
  it('OOM is 503 UNAVAILABLE, never 500, and no script runs half-way', async () => {
    const sku = uniqueName('oom-');
    await createSku(ctx, sku, { total: 5 });
    const id = (await reserve(sku, { ttlSeconds: 1 })).json().id;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await operator.config('SET', 'maxmemory', '1');
    try {
      // The reserve would sweep the expired hold first: refused whole, before it runs.
      const answer = await reserve(sku);
      expect(answer.statusCode).toBe(503);
      expect(answer.json().error.code).toBe('UNAVAILABLE');
      const put = await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: { total: 6 } });
      expect(put.statusCode).toBe(503);
      expect(await rawCounters(ctx, sku)).toEqual({ total: 5, available: 4, reserved: 1, sold: 0 });
      // Returning stock frees memory: a release still runs.
      expect((await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/release` })).json().status).toBe('EXPIRED');
    } finally {
      await operator.config('SET', 'maxmemory', '0');
    }
    expect(await rawCounters(ctx, sku)).toEqual({ total: 5, available: 5, reserved: 0, sold: 0 });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, conserved, createSku, createTestContext, rawCounters, uniqueName } from '../support/context';
import { type TestRedis, startTestRedis } from '../support/servers';

let redis: TestRedis;
let ctx: TestContext;
let sku: string;
beforeAll(async () => {
  redis = await startTestRedis({ appendonly: true });
  ctx = await createTestContext({ redisUrl: redis.url });
  sku = uniqueName('outage-');
  await createSku(ctx, sku, { total: 10 });
});
afterAll(async () => {
  await ctx.close();
  await redis.stop();
});

const reserve = (orderId: string) =>
  ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u', orderId, items: [{ sku, qty: 1 }] } });

async function untilReserveSucceeds(timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await reserve('after');
    if (response.statusCode === 201 || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Redis goes away', () => {
  it('kill -9: 503 UNAVAILABLE fast, nothing held; recovery without a restart once Redis is back', async () => {
    expect((await reserve('before')).statusCode).toBe(201);
    await redis.kill('SIGKILL');

    for (const url of ['/v1/reservations', `/v1/skus/${sku}`]) {
      const started = Date.now();
      const response = url === '/v1/reservations' ? await reserve('during') : await ctx.app.inject({ method: 'GET', url });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('UNAVAILABLE');
    }
    expect((await ctx.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    expect((await ctx.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

    await redis.start();
    const after = await untilReserveSucceeds(15_000);
    expect(after.statusCode).toBe(201);
    expect((await ctx.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    // The AOF (fsync always) kept the first hold; the refused one held nothing.
    const counters = await rawCounters(ctx, sku);
    expect(counters).toEqual({ total: 10, available: 8, reserved: 2, sold: 0 });
    expect(conserved(counters)).toBe(true);
  });

  it('a hung Redis (SIGSTOP) is answered 503 within the command timeout, never a hang', async () => {
    redis.pause();
    try {
      const started = Date.now();
      const response = await reserve('hung');
      expect(response.statusCode).toBe(503);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      redis.resume();
    }
    expect((await untilReserveSucceeds(15_000)).statusCode).toBe(201);
    expect(conserved(await rawCounters(ctx, sku))).toBe(true);
  });
});

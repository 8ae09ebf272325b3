import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_TARGETS, STOCK_LAYOUTS, type TestContext, conserved, createSku, createTestContext, expectConservedEverywhere, rawCounters, stockBody, uniqueName } from '../support/context';

describe.each(REDIS_TARGETS)('on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  describe('holds with ttlSeconds: 1', () => {
    it('expire, read EXPIRED before any sweep, cannot be committed, and their units return on the next reserve', async () => {
      const sku = uniqueName('last-unit-');
      await createSku(ctx, sku, { total: 1, perUserLimit: 1 });
      const first = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'slow', orderId: 'o1', items: [{ sku, qty: 1 }], ttlSeconds: 1 } });
      expect(first.statusCode).toBe(201);
      const { id } = first.json();
      expect((await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${id}` })).json().status).toBe('PENDING');
      const soldOut = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'fast', orderId: 'o2', items: [{ sku, qty: 1 }] } });
      expect(soldOut.statusCode).toBe(409);

      await sleep(1100);
      expect((await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${id}` })).json().status).toBe('EXPIRED');
      // Nothing swept yet: the unit still counts as reserved until someone trades the SKU.
      expect(await rawCounters(ctx, sku)).toEqual({ total: 1, available: 0, reserved: 1, sold: 0 });

      const second = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'fast', orderId: 'o2', items: [{ sku, qty: 1 }] } });
      expect(second.statusCode).toBe(201);
      expect(await rawCounters(ctx, sku)).toEqual({ total: 1, available: 0, reserved: 1, sold: 0 });
      // The expired holder's per-user count was returned with the unit.
      expect(await ctx.redis.hget(ctx.keys.buyers(sku), 'slow')).toBeNull();

      const commit = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/commit` });
      expect(commit.statusCode).toBe(409);
      expect(commit.json().error.code).toBe('RESERVATION_EXPIRED');
      const release = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/release` });
      expect(release.statusCode).toBe(200);
      expect(release.json().status).toBe('EXPIRED');
      const counters = await rawCounters(ctx, sku);
      expect(counters).toEqual({ total: 1, available: 0, reserved: 1, sold: 0 });
      expect(conserved(counters)).toBe(true);
    });

    it.each(STOCK_LAYOUTS)('an expired hold is returned exactly once when commit, release and a reserve race for it (stock in %s)', async (layout) => {
      const sku = uniqueName('race-expiry-');
      await createSku(ctx, sku, stockBody(layout, 5));
      const ids: string[] = [];
      for (let n = 0; n < 5; n++) {
        const response = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: `u${n}`, orderId: 'o', items: [{ sku, qty: 1 }], ttlSeconds: 1 } });
        ids.push(response.json().id);
      }
      await sleep(1100);
      await Promise.all([
        ...ids.map((id) => ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/commit` })),
        ...ids.map((id) => ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/release` })),
        ctx.maintenance.sweepSku(sku, 100),
      ]);
      expect(await expectConservedEverywhere(ctx, sku)).toEqual({ total: 5, available: 5, reserved: 0, sold: 0 });
    });
  });
});

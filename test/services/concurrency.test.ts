import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors';
import { type RedisClient, connectWithRetry, createConfiguredClient } from '../../src/redis/connect';
import { type StockServices, createStockServices } from '../../src/redis/stockServices';
import { inject } from 'vitest';
import {
  REDIS_TARGETS,
  STOCK_LAYOUTS,
  type TestContext,
  createSku,
  createTestContext,
  expectConservedEverywhere,
  holdMemberOf,
  moveExpiry,
  readRecord,
  skuIn,
  stockBody,
  uniqueName,
} from '../support/context';
import { call, statusCounts } from '../support/http';

/** Every test runs on a SKU with one location and on one whose stock sits in three; conservation is checked in each location. */
describe.each(REDIS_TARGETS.flatMap((redis) => STOCK_LAYOUTS.map((layout) => [redis, layout] as const)))('on %s Redis, stock in %s', (redis, layout) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis, listen: true });
  });
  afterAll(() => ctx.close());

  const reserve = (body: object, headers: Record<string, string> = {}) => call(ctx.baseUrl, 'POST', '/v1/reservations', body, headers);

  describe('concurrent shoppers over HTTP', () => {
    it('1 unit, 1000 concurrent reserves: exactly one wins, the rest get a clean sold-out', async () => {
      const sku = uniqueName('hot-');
      await createSku(ctx, sku, layout === 'one location' ? { total: 1 } : { locations: [{ location: 'north', total: 0 }, { location: 'centre', total: 1 }, { location: 'south', total: 0 }] });
      const answers = await Promise.all(
        Array.from({ length: 1000 }, (_, n) => reserve({ userId: `u${n}`, orderId: `o${n}`, items: [{ sku, qty: 1 }] })),
      );
      expect(statusCounts(answers)).toEqual({ 201: 1, 409: 999 });
      expect(answers.filter((a) => a.status === 409).every((a) => a.body.error.code === 'INSUFFICIENT_STOCK')).toBe(true);
      expect(await expectConservedEverywhere(ctx, sku)).toEqual({ total: 1, available: 0, reserved: 1, sold: 0 });
    });

    it('100 units, 3000 attempts: exactly 100 holds, never oversold', async () => {
      const sku = uniqueName('hot-');
      await createSku(ctx, sku, stockBody(layout, 100));
      const answers: Awaited<ReturnType<typeof reserve>>[] = [];
      for (let wave = 0; wave < 3; wave++) {
        answers.push(
          ...(await Promise.all(
            Array.from({ length: 1000 }, (_, n) => reserve({ userId: `u${wave}-${n}`, orderId: `o${n}`, items: [{ sku, qty: 1 }] })),
          )),
        );
      }
      expect(statusCounts(answers)).toEqual({ 201: 100, 409: 2900 });
      const ids = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.id));
      expect(ids.size).toBe(100);
      expect(await expectConservedEverywhere(ctx, sku)).toEqual({ total: 100, available: 0, reserved: 100, sold: 0 });
      expect(await ctx.redis.zcard(ctx.keys.expiry(sku))).toBe(100);
    });

    it('per-user limit holds under 50 concurrent requests from one user', async () => {
      const sku = uniqueName('limited-');
      await createSku(ctx, sku, stockBody(layout, 1000, { perUserLimit: 2 }));
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, n) => reserve({ userId: 'greedy', orderId: `o${n}`, items: [{ sku, qty: 1 }] })),
      );
      expect(statusCounts(answers)).toEqual({ 201: 2, 409: 48 });
      expect(answers.filter((a) => a.status === 409).every((a) => a.body.error.code === 'PURCHASE_LIMIT_EXCEEDED')).toBe(true);
      expect(await expectConservedEverywhere(ctx, sku)).toEqual({ total: 1000, available: 998, reserved: 2, sold: 0 });
    });

    it('20 concurrent retries with one idempotency key make one reservation', async () => {
      // In the user's partition, where the key lives, as on one partition (a key elsewhere is claimed first, test/redis/partitions.test.ts).
      const sku = skuIn(ctx, ctx.keys.partitionOfUser('retrier'), 'idem-');
      await createSku(ctx, sku, stockBody(layout, 50));
      const body = { userId: 'retrier', orderId: 'o-1', items: [{ sku, qty: 2 }] };
      const answers = await Promise.all(Array.from({ length: 20 }, () => reserve(body, { 'idempotency-key': 'pay-attempt-1' })));
      expect(statusCounts(answers)).toEqual({ 201: 20 });
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      expect(answers.filter((a) => a.headers.get('idempotency-replayed') === 'true')).toHaveLength(19);
      expect(await expectConservedEverywhere(ctx, sku)).toEqual({ total: 50, available: 48, reserved: 2, sold: 0 });
    });
  });

  describe('commit, release and the sweep racing on the same hold', () => {
    const clients: RedisClient[] = [];
    afterAll(() => clients.forEach((client) => client.disconnect()));

    /** The same services over a connection of their own, like another engine process. */
    async function otherEngine(): Promise<StockServices> {
      const client = createConfiguredClient(ctx.config, ctx.config.redisUrl ?? inject('redisUrl'));
      await connectWithRetry(client);
      clients.push(client);
      return createStockServices(client, { keyPrefix: ctx.config.keyPrefix, partitions: ctx.config.redisPartitions });
    }

    it('3000 rounds: exactly one terminal state each, counters conserved after every round', async () => {
      const [committer, releaser, sweeper] = [ctx.engine, (await otherEngine()).engine, (await otherEngine()).maintenance];
      const sku = uniqueName('race-');
      await createSku(ctx, sku, stockBody(layout, 100_000));
      let sold = 0;
      const outcomes = { COMMITTED: 0, RELEASED: 0, EXPIRED: 0 };

      async function round(n: number): Promise<void> {
        const qty = 1 + (n % 3);
        const out = await ctx.engine.reserve({ userId: `u${n}`, orderId: 'o', lines: [{ sku, qty }], ttlSeconds: 60, allowPartial: false });
        if (out.kind !== 'created') throw new Error('expected a hold');
        const id = out.reservation.id;
        // A third of the holds stay live (commit and release race), a third have expired (all three
        // meet an expired hold), and a third expire within a few ms of the calls (the clock races too).
        const offsetMs = [60_000, -1000, (n % 7) - 3][n % 3];
        const member = await holdMemberOf(ctx, id, sku);
        await moveExpiry(ctx, id, sku, (await ctx.engine.redisTimeMs()) + offsetMs);
        const calls = [() => committer.commit(id), () => releaser.release(id), () => sweeper.sweepSku(sku, 10)];
        const order = n % 2 ? [2, 1, 0] : [0, 1, 2];
        const settled = await Promise.allSettled(order.map((k) => calls[k]()));
        const commit = settled[order.indexOf(0)];
        const release = settled[order.indexOf(1)];
        const status = (await readRecord(ctx, id))?.status;
        if (!status || status === 'PENDING') throw new Error(`round ${n}: stored status ${status}, expected a terminal one`);
        outcomes[status] += 1;
        if (status === 'COMMITTED') {
          sold += qty;
          expect(commit.status).toBe('fulfilled');
          expect(release.status === 'rejected' && (release.reason as DomainError).code).toBe('RESERVATION_COMMITTED');
        } else {
          expect(commit.status === 'rejected' && (commit.reason as DomainError).code).toBe(status === 'RELEASED' ? 'RESERVATION_RELEASED' : 'RESERVATION_EXPIRED');
        }
        expect(await ctx.redis.zscore(ctx.keys.expiry(sku), member)).toBeNull();
      }

      for (let batch = 0; batch < 150; batch++) {
        await Promise.all(Array.from({ length: 20 }, (_, k) => round(batch * 20 + k)));
        expect(await expectConservedEverywhere(ctx, sku)).toEqual({ total: 100_000, available: 100_000 - sold, reserved: 0, sold });
      }
      expect(outcomes.COMMITTED + outcomes.RELEASED + outcomes.EXPIRED).toBe(3000);
      // Every outcome was reached: the race really raced.
      expect(outcomes.COMMITTED).toBeGreaterThan(0);
      expect(outcomes.RELEASED).toBeGreaterThan(0);
      expect(outcomes.EXPIRED).toBeGreaterThan(0);
    });
  });
});

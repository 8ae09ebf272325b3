/**
 * Many partitions on one Redis (REDIS_PARTITIONS=8): the layout a Redis Cluster uses. Keys land in
 * their partition's hash tag, everything drains and sweeps partition by partition, an
 * Idempotency-Key in another partition than the holds is claimed then bound, and a partition
 * that lost its data is rebuilt while the others keep serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, adminHeaders, conserved, createSku, createTestContext, rawCounters, uniqueName } from './support/context';
import { statusCounts } from './support/http';

const PARTITIONS = 8;
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ env: { REDIS_PARTITIONS: String(PARTITIONS) }, dataWatchIntervalMs: 200 });
});
afterAll(() => ctx.close());

/** A fresh name whose partition is `partition`. */
function nameIn(partition: number, prefix: string, of: (name: string) => number): string {
  for (;;) {
    const name = uniqueName(prefix);
    if (of(name) === partition) return name;
  }
}
const skuIn = (partition: number) => nameIn(partition, 'part-', (sku) => ctx.keys.partitionOfSku(sku));
const userIn = (partition: number) => nameIn(partition, 'user-', (user) => ctx.keys.partitionOfUser(user));

const reserve = (sku: string, userId: string, headers: Record<string, string> = {}, qty = 1) =>
  ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: { userId, items: [{ sku, qty }] } });
const post = (url: string) => ctx.app.inject({ method: 'POST', url });

describe('REDIS_PARTITIONS=8 on one Redis', () => {
  it('keys live in their partition; a reservation id names its home; every partition drains and sweeps', async () => {
    const skus = Array.from({ length: PARTITIONS }, (_, partition) => skuIn(partition));
    for (const sku of skus) await createSku(ctx, sku, { total: 5 });
    const ids: string[] = [];
    for (const [partition, sku] of skus.entries()) {
      expect(ctx.keys.stock(sku)).toContain(`{p${partition}}`);
      const created = (await reserve(sku, 'u1')).json();
      expect(ctx.keys.partitionOfReservation(created.id)).toBe(partition);
      expect(await ctx.redis.exists(ctx.keys.reservation(created.id))).toBe(1);
      ids.push(created.id);
    }
    expect((await post(`/v1/reservations/${ids[0]}/commit`)).json().status).toBe('COMMITTED');
    expect((await post(`/v1/reservations/${ids[1]}/release`)).json().status).toBe('RELEASED');
    const report = await ctx.reconciler.run('api');
    expect(report.error).toBeUndefined();
    expect(report.drift).toEqual([]);
    // Every partition's stream was drained: each reservation reads from Postgres once Redis forgets it.
    for (const id of ids) {
      await ctx.redis.del(ctx.keys.reservation(id));
      expect((await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${id}` })).statusCode).toBe(200);
    }
    for (const sku of skus) expect(conserved(await rawCounters(ctx, sku))).toBe(true);
  });

  it('an Idempotency-Key in another partition than the holds: claimed, bound, replayed; another body is 422', async () => {
    const sku = skuIn(2);
    const userId = userIn(5);
    await createSku(ctx, sku, { total: 10 });
    const key = { 'idempotency-key': 'cart 1' };
    const first = await reserve(sku, userId, key);
    expect(first.statusCode).toBe(201);
    const again = await reserve(sku, userId, key);
    expect([again.statusCode, again.headers['idempotency-replayed'], again.json().id]).toEqual([201, 'true', first.json().id]);
    expect((await reserve(sku, userId, key, 2)).json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await rawCounters(ctx, sku)).toMatchObject({ available: 9, reserved: 1 });

    // Duplicates sent at once: one reservation, the others replay it or are told it is in flight.
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => reserve(sku, userId, { 'idempotency-key': 'cart 2' })));
    const ids = new Set(concurrent.filter((answer) => answer.statusCode === 201).map((answer) => answer.json().id));
    expect(ids.size).toBe(1);
    for (const answer of concurrent) if (answer.statusCode === 409) expect(answer.json().error.code).toBe('IDEMPOTENCY_IN_FLIGHT');
    expect(statusCounts(concurrent.map((answer) => ({ status: answer.statusCode, headers: new Headers(), body: undefined })))[201]).toBeGreaterThanOrEqual(1);
    expect(await rawCounters(ctx, sku)).toMatchObject({ available: 8, reserved: 2 });

    // A refused attempt binds nothing: the same key succeeds once stock is there.
    const scarce = skuIn(2);
    await createSku(ctx, scarce, { total: 0 });
    const refused = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers: { 'idempotency-key': 'cart 3' }, payload: { userId, items: [{ sku: scarce, qty: 1 }] } });
    expect(refused.json().error.code).toBe('INSUFFICIENT_STOCK');
    await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${scarce}`, headers: adminHeaders, payload: { total: 1 } });
    const retried = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers: { 'idempotency-key': 'cart 3' }, payload: { userId, items: [{ sku: scarce, qty: 1 }] } });
    expect([retried.statusCode, retried.headers['idempotency-replayed']]).toEqual([201, undefined]);
  });

  it('a partition that lost its data answers 503 and is rebuilt while the others keep serving', async () => {
    const lost = skuIn(3);
    const kept = skuIn(6);
    await createSku(ctx, lost, { total: 4 });
    await createSku(ctx, kept, { total: 4 });
    const held = (await reserve(lost, 'u1')).json().id;
    await ctx.reconciler.run('api');
    const before = (await ctx.app.inject({ method: 'GET', url: `/v1/skus/${lost}` })).json();

    // Partition 3 forgets everything, as a shard restarted empty would.
    const partitionKeys = await ctx.redis.keys(`${ctx.keys.prefix}:{p3}:*`);
    await ctx.redis.del(...partitionKeys);
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${lost}` })).statusCode).toBe(503);
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${kept}` })).statusCode).toBe(200);
    expect((await reserve(kept, 'u2')).statusCode).toBe(201);

    const deadline = Date.now() + 10_000;
    while ((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${lost}` })).statusCode !== 200) {
      if (Date.now() > deadline) throw new Error('partition 3 was not rebuilt in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${lost}` })).json()).toEqual(before);
    expect((await post(`/v1/reservations/${held}/commit`)).json().status).toBe('COMMITTED');
  });

  it('an engine laid out in another partition count refuses to start on the same data', async () => {
    await expect(createTestContext({ env: { REDIS_PARTITIONS: '4', KEY_PREFIX: ctx.config.keyPrefix } })).rejects.toThrow(/in 8 partitions but REDIS_PARTITIONS is 4/);
  });
});

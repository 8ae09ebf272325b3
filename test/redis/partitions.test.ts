/**
 * Many partitions (REDIS_PARTITIONS=8), on one Redis and on a Redis Cluster. Keys land in
 * their partition's hash tag, everything drains and sweeps partition by partition, an
 * Idempotency-Key in another partition than the holds is claimed then bound, and a partition
 * that lost its data is rebuilt while the others keep serving. The partition of a SKU's buckets is
 * the same in TypeScript and in the scripts.
 */
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bucketSku } from '../../src/domain/buckets';
import { LUA_DIR, loadLuaScript } from '../../src/redis/luaSource';
import { partitionOfSku } from '../../src/redis/partitions';
import { REDIS_TARGETS, type TestContext, adminHeaders, conserved, createSku, createTestContext, deleteMatching, rawCounters, uniqueName, skuIn as skuInOf, userIn as userInOf } from '../support/context';
import { statusCounts } from '../support/http';
import { sql } from 'drizzle-orm';
import { DEFAULT_TUNING } from '../../src/redis/redisStore';
import { endCall } from '../../src/redis/scriptCalls';
import { runScript } from '../../src/redis/scripts';

const PARTITIONS = 8;

describe.each(REDIS_TARGETS)('on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis, env: { REDIS_PARTITIONS: String(PARTITIONS) }, dataWatchIntervalMs: 200 });
  });
  afterAll(() => ctx.close());

  const skuIn = (partition: number) => skuInOf(ctx, partition, 'part-');
  const userIn = (partition: number) => userInOf(ctx, partition);

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
      await deleteMatching(ctx.redis, `${ctx.keys.prefix}:{p3}:*`);
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

    it('entries of two partitions that share a stream id both reach Postgres, movements included', async () => {
      const [a, b] = [skuIn(1), skuIn(2)];
      for (const sku of [a, b]) await createSku(ctx, sku, { total: 5 });
      await ctx.reconciler.run('api');
      // Each partition's stream numbers its own entries: two written in one millisecond share an id.
      const entryId = `${Date.now() + 1_000_000_000}-0`;
      const ids = [uniqueName('Bx'), uniqueName('Cx')];
      for (const [n, sku] of [a, b].entries()) {
        const event = `${ids[n]}|P|${Date.now()}|60000||u|o|${sku}|1|1`;
        await ctx.redis.xadd(ctx.keys.outbox(ctx.keys.partitionOfSku(sku)), entryId, 'e', JSON.stringify({ events: [event], stock: [] }));
      }
      await ctx.reconciler.run('api');
      const movements = await ctx.db.execute(sql`select reservation_id from stock_movements where type = 'RESERVE' and reservation_id in (${ids[0]}, ${ids[1]})`);
      const rows = (Array.isArray(movements) ? movements : (movements as unknown as { rows: unknown[] }).rows) as { reservation_id: string }[];
      expect(rows.map((row) => row.reservation_id).sort()).toEqual([...ids].sort());
    });

    it('an engine that found a partition lost serves it again once another engine rebuilt it', async () => {
      const other = await createTestContext({
        redis,
        env: { REDIS_PARTITIONS: String(PARTITIONS), KEY_PREFIX: ctx.config.keyPrefix, DATABASE_URL: ctx.config.databaseUrl! },
        dataWatchIntervalMs: 3_600_000,
      });
      try {
        const sku = skuIn(5);
        await createSku(ctx, sku, { total: 3 });
        await ctx.reconciler.run('api');
        await deleteMatching(ctx.redis, `${ctx.keys.prefix}:{p5}:*`);
        // The other engine meets the loss first and stops serving partition 5...
        expect((await other.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).statusCode).toBe(503);
        // ...this one rebuilds it...
        await ctx.dataWatch.check();
        expect((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).statusCode).toBe(200);
        // ...and the other, at its next check, sees the marker back and serves it too.
        await other.dataWatch.check();
        expect((await other.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).statusCode).toBe(200);
        expect((await other.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
      } finally {
        other.dataWatch.stop();
        await other.app.close();
      }
    });

    it('an engine laid out in another partition count refuses to start on the same data', async () => {
      await expect(createTestContext({ redis, env: { REDIS_PARTITIONS: '4', KEY_PREFIX: ctx.config.keyPrefix } })).rejects.toThrow(/in 8 partitions but REDIS_PARTITIONS is 4/);
    });
  });

  describe('a reservation whose lines span partitions', () => {
    const json = (answer: { json(): any }) => answer.json();
    const reserveLines = (items: { sku: string; qty: number }[], extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
      ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: { userId: 'span-user', items, ...extra } });
    async function threeSkus(totals: [number, number, number] = [5, 5, 5]) {
      const skus = [skuIn(1), skuIn(4), skuIn(6)];
      for (const [n, sku] of skus.entries()) await createSku(ctx, sku, { total: totals[n] });
      return skus;
    }
    const countersOf = (skus: string[]) => Promise.all(skus.map((sku) => rawCounters(ctx, sku)));

    it('holds, reads, commits and drains every line, in request order', async () => {
      const [a, b, c] = await threeSkus();
      const created = await reserveLines([{ sku: b, qty: 2 }, { sku: a, qty: 1 }, { sku: c, qty: 3 }]);
      expect(created.statusCode).toBe(201);
      const { id, items } = json(created);
      expect(items.map((item: { sku: string; reserved: number }) => [item.sku, item.reserved])).toEqual([[b, 2], [a, 1], [c, 3]]);
      expect(json(await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${id}` })).items).toEqual(items);
      expect(await countersOf([a, b, c])).toEqual([
        { total: 5, available: 4, reserved: 1, sold: 0 },
        { total: 5, available: 3, reserved: 2, sold: 0 },
        { total: 5, available: 2, reserved: 3, sold: 0 },
      ]);
      expect(json(await post(`/v1/reservations/${id}/commit`)).status).toBe('COMMITTED');
      expect((await countersOf([a, b, c])).map(({ reserved, sold }) => [reserved, sold])).toEqual([[0, 1], [0, 2], [0, 3]]);
      const report = await ctx.reconciler.run('api');
      expect(report.drift.filter((item) => [a, b, c].includes(item.sku))).toEqual([]);
      await ctx.redis.del(ctx.keys.reservation(id));
      const stored = json(await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${id}` }));
      expect([stored.status, stored.items.map((item: { sku: string }) => item.sku)]).toEqual(['COMMITTED', [b, a, c]]);
    });

    it('all or nothing: a short line in any partition holds nothing anywhere; allowPartial holds what it can', async () => {
      const [a, b, c] = await threeSkus([5, 1, 5]);
      const refused = await reserveLines([{ sku: a, qty: 1 }, { sku: b, qty: 2 }, { sku: c, qty: 1 }]);
      expect(json(refused).error).toMatchObject({ code: 'INSUFFICIENT_STOCK', details: { items: [{ sku: b, requested: 2, available: 1 }] } });
      expect((await countersOf([a, b, c])).map(({ available }) => available)).toEqual([5, 1, 5]);

      const partial = json(await reserveLines([{ sku: a, qty: 1 }, { sku: b, qty: 2 }, { sku: c, qty: 1 }], { allowPartial: true }));
      expect(partial.items.map((item: { reserved: number; status: string }) => [item.reserved, item.status])).toEqual([
        [1, 'RESERVED'],
        [1, 'BACKORDERED'],
        [1, 'RESERVED'],
      ]);
      expect(json(await post(`/v1/reservations/${partial.id}/release`)).status).toBe('RELEASED');
      expect((await countersOf([a, b, c])).map(({ available, reserved }) => [available, reserved])).toEqual([[5, 0], [1, 0], [5, 0]]);
    });

    it('expiry is decided at the home: the reconciler returns every partition\'s units once, and Postgres reads EXPIRED', async () => {
      const [a, b] = await threeSkus();
      const { id } = json(await reserveLines([{ sku: a, qty: 2 }, { sku: b, qty: 1 }], { ttlSeconds: 1 }));
      const extended = json(await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/extend`, payload: { ttlSeconds: 2 } }));
      expect(extended.status).toBe('PENDING');
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect(json(await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${id}` })).status).toBe('EXPIRED');
      await ctx.reconciler.run('api');
      expect((await countersOf([a, b])).map(({ available, reserved }) => [available, reserved])).toEqual([[5, 0], [5, 0]]);
      await ctx.reconciler.run('api');
      expect((await countersOf([a, b])).map(({ available, reserved }) => [available, reserved])).toEqual([[5, 0], [5, 0]]);
      expect(json(await post(`/v1/reservations/${id}/commit`)).error.code).toBe('RESERVATION_EXPIRED');
    });

    it('one unit among 50 concurrent spanning reserves: exactly one wins, the others hold nothing', async () => {
      const [scarce, plenty] = await threeSkus([1, 100, 5]);
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, n) => ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: `u${n}`, items: [{ sku: plenty, qty: 1 }, { sku: scarce, qty: 1 }] } })),
      );
      expect(answers.filter((answer) => answer.statusCode === 201)).toHaveLength(1);
      expect(answers.filter((answer) => answer.statusCode === 409)).toHaveLength(49);
      const [scarceCounters, plentyCounters] = await countersOf([scarce, plenty]);
      expect(scarceCounters).toEqual({ total: 1, available: 0, reserved: 1, sold: 0 });
      expect(plentyCounters).toEqual({ total: 100, available: 99, reserved: 1, sold: 0 });
    });

    it('a commit that reached only its home is carried to the other partitions by the reconciler', async () => {
      const [a, b] = await threeSkus();
      const { id } = json(await reserveLines([{ sku: a, qty: 1 }, { sku: b, qty: 2 }]));
      const home = ctx.keys.partitionOfReservation(id);
      // The engine stops right after the home script: nothing told partition 4 yet.
      const commit = endCall({ keys: ctx.keys, tuning: DEFAULT_TUNING }, 'commit', id);
      await runScript(ctx.redis, commit.script, commit.keys, commit.args);
      expect(await rawCounters(ctx, b)).toMatchObject({ reserved: 2, sold: 0 });
      await ctx.reconciler.run('api');
      expect(await rawCounters(ctx, b)).toEqual({ total: 5, available: 3, reserved: 0, sold: 2 });
      expect(await ctx.redis.zscore(ctx.keys.spanning(home), id)).toBeNull();
    });

    it('a part whose home never came (the reserve died half-way) is let go after its deadline', async () => {
      const [a, b] = await threeSkus();
      const created = json(await reserveLines([{ sku: a, qty: 1 }, { sku: b, qty: 2 }]));
      const home = ctx.keys.partitionOfReservation(created.id);
      const part = ctx.keys.partitionOfSku(b);
      // As if the engine died before the home script: the home record is gone, the part's deadline passed.
      await ctx.redis.del(ctx.keys.reservation(created.id));
      await ctx.redis.zadd(ctx.keys.spanning(part), 0, created.id);
      await ctx.redis.zrem(ctx.keys.spanning(home), created.id);
      await ctx.reconciler.run('api');
      expect(await rawCounters(ctx, b)).toEqual({ total: 5, available: 5, reserved: 0, sold: 0 });
    });
  });

  describe('a spanning reservation after Redis lost its data', () => {
    it('comes back whole from Postgres: commit ends it in every partition', async () => {
      const skus = [skuIn(2), skuIn(7)];
      for (const sku of skus) await createSku(ctx, sku, { total: 6 });
      const created = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'cold', items: skus.map((sku) => ({ sku, qty: 2 })) } });
      const { id } = created.json();
      await ctx.reconciler.run('api');
      // The watch's own timer stays off while the keys go: a rebuild it started half-way would have its keys deleted after it.
      ctx.dataWatch.stop();
      for (const partition of [2, 7]) await deleteMatching(ctx.redis, `${ctx.keys.prefix}:{p${partition}}:*`);
      await ctx.dataWatch.check();
      ctx.dataWatch.watch();
      expect(await ctx.maintenance.hasDataMarker(2)).toBe(true);
      for (const sku of skus) expect(await rawCounters(ctx, sku)).toEqual({ total: 6, available: 4, reserved: 2, sold: 0 });
      expect((await post(`/v1/reservations/${id}/commit`)).json().status).toBe('COMMITTED');
      for (const sku of skus) expect(await rawCounters(ctx, sku)).toEqual({ total: 6, available: 4, reserved: 0, sold: 2 });
      expect((await ctx.reconciler.run('api')).drift.filter((item) => skus.includes(item.sku))).toEqual([]);
    });
  });
});

describe('the partition of a SKU and of its buckets', () => {
  it('is the same in TypeScript and in the scripts: bucket i is i partitions after the SKU, wrapping around', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lua-'));
    symlinkSync(path.join(LUA_DIR, 'includes'), path.join(dir, 'includes'));
    writeFileSync(
      path.join(dir, 'probe.lua'),
      '-- @include "partition"\nlocal out = {}\nfor n = 2, #ARGV do out[#out + 1] = partitionOfSku(ARGV[n], tonumber(ARGV[1])) end\nreturn out\n',
    );
    const names = ['x', 'sku-1', 'hot.tv:55', ...Array.from({ length: 70 }, (_, bucket) => bucketSku('hot.tv:55', bucket))];
    const client = new Redis(inject('redisUrl'));
    try {
      for (const count of [1, 3, 8, 16]) {
        const inLua = await client.eval(loadLuaScript('probe', dir), 0, count, ...names);
        expect(inLua).toEqual(names.map((name) => partitionOfSku(name, count)));
      }
    } finally {
      client.disconnect();
    }
    const home = partitionOfSku('hot.tv:55', 16);
    expect([1, 2, 15, 16, 17].map((bucket) => partitionOfSku(bucketSku('hot.tv:55', bucket), 16))).toEqual([1, 2, 15, 16, 17].map((bucket) => (home + bucket) % 16));
  });
});

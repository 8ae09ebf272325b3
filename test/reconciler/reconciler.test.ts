import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reconciler } from '../../src/reconciler/reconciler';
import { parseEntry } from '../../src/redis/outboxEntry';
import { allPartitions } from '../../src/redis/partitions';
import {
  type DatabaseTarget,
  REDIS_TARGETS,
  type RedisTarget,
  STOCK_LAYOUTS,
  type TestContext,
  adminHeaders,
  conserved,
  createSku,
  createTestContext,
  deleteMatching,
  expectConservedEverywhere,
  rawCounters,
  stockBody,
  uniqueName,
  writeEntries,
} from '../support/context';
import { queryRows as query } from '../../src/db/client';

// Both databases on one Redis; the Redis Cluster with Postgres only (the database side does not depend on the Redis).
const TARGETS: [DatabaseTarget, RedisTarget][] = [
  ['postgres', 'single'],
  ['pglite', 'single'],
  ['postgres', 'cluster'],
];

describe.each(TARGETS)('reconciler on %s and %s Redis', (target, redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ database: target, redis });
  });
  afterAll(() => ctx.close());

  const reserve = async (sku: string, qty: number, extra: object = {}) => {
    const response = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u1', orderId: 'o1', items: [{ sku, qty }], ...extra } });
    expect(response.statusCode).toBe(201);
    return response.json().id as string;
  };
  const post = (url: string) => ctx.app.inject({ method: 'POST', url });
  const pass = async (repair = false) => {
    const response = await ctx.app.inject({ method: 'POST', url: '/v1/admin/reconcile', headers: adminHeaders, payload: { repair } });
    expect(response.statusCode).toBe(200);
    return response.json();
  };
  const reservationRow = async (id: string) => (await query<{ status: string; committed_at: unknown; released_at: unknown }>(ctx.db, sql`select * from reservations where id = ${id}`))[0];
  const movementCount = async (sku: string) => Number((await query<{ n: string }>(ctx.db, sql`select count(*) as n from stock_movements where sku = ${sku}`))[0].n);

  it('drains every state change into Postgres exactly once', async () => {
    const sku = uniqueName('drain-');
    await createSku(ctx, sku, { total: 10 });
    const committed = await reserve(sku, 2);
    const released = await reserve(sku, 1);
    const extended = await reserve(sku, 1);
    await post(`/v1/reservations/${committed}/commit`);
    await post(`/v1/reservations/${released}/release`);
    await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${extended}/extend`, payload: { ttlSeconds: 3000 } });
    await ctx.app.inject({ method: 'POST', url: `/v1/admin/skus/${sku}/adjust`, headers: adminHeaders, payload: { delta: 5, reason: 'restock' } });

    const first = await pass();
    expect(first.eventsWritten).toBeGreaterThanOrEqual(7);
    expect(first.drift).toEqual([]);
    expect((await reservationRow(committed)).status).toBe('COMMITTED');
    expect((await reservationRow(committed)).committed_at).not.toBeNull();
    expect((await reservationRow(released)).status).toBe('RELEASED');
    expect((await reservationRow(extended)).status).toBe('PENDING');
    const items = await query(ctx.db, sql`select sku, qty, reserved from reservation_items where reservation_id = ${committed}`);
    expect(items).toEqual([{ sku, qty: 2, reserved: 2 }]);
    const [row] = await query<{ total: number; available: number; reserved: number; sold: number }>(ctx.db, sql`select total, available, reserved, sold from skus where sku = ${sku}`);
    expect(row).toEqual(await rawCounters(ctx, sku));

    const movements = await ctx.app.inject({ method: 'GET', url: `/v1/admin/skus/${sku}/movements`, headers: adminHeaders });
    const types = movements.json().items.map((m: { type: string }) => m.type);
    expect(types).toEqual(['ADJUST', 'RELEASE', 'COMMIT', 'RESERVE', 'RESERVE', 'RESERVE', 'SET']);
    expect(movements.json().items[0]).toMatchObject({ qty: 5, reason: 'restock', actor: 'admin-api' });

    const count = await movementCount(sku);
    const second = await pass();
    expect(second.eventsWritten).toBe(0);
    expect(await movementCount(sku)).toBe(count);
    // Acknowledged entries are trimmed away.
    expect(await ctx.redis.xlen(ctx.keys.outbox(ctx.keys.partitionOfSku(sku)))).toBeLessThanOrEqual(1);
  });

  it('a drain killed after the Postgres commit but before the acknowledgement is finished once', async () => {
    const sku = uniqueName('crash-');
    await createSku(ctx, sku, { total: 5 });
    await pass();
    const id = await reserve(sku, 2);
    await post(`/v1/reservations/${id}/commit`);
    // The crashed consumer read the entries and wrote them, then died before XACK.
    const partition = ctx.keys.partitionOfSku(sku);
    const outbox = ctx.keys.outbox(partition);
    const reply = (await ctx.redis.xreadgroup('GROUP', ctx.keys.outboxGroup(), 'crashed-consumer', 'COUNT', 100, 'STREAMS', outbox, '>')) as [string, [string, string[]][]][];
    const entries = reply[0][1].map(([entryId, fields]) => parseEntry(entryId, fields[1], partition));
    await writeEntries(ctx.db, entries);
    expect(((await ctx.redis.xpending(outbox, ctx.keys.outboxGroup())) as [number])[0]).toBe(entries.length);

    const report = await pass();
    expect(report.eventsWritten).toBe(entries.flatMap((entry) => entry.events).length);
    expect(((await ctx.redis.xpending(outbox, ctx.keys.outboxGroup())) as [number])[0]).toBe(0);
    expect(await movementCount(sku)).toBe(3);
    expect((await reservationRow(id)).status).toBe('COMMITTED');
    expect(report.drift).toEqual([]);
  });

  it('a batch of rows written already and new ones lands each once: the inserts, tried as new, are redone skipping what is there', async () => {
    const sku = uniqueName('redrain-');
    await createSku(ctx, sku, { total: 5 });
    await pass();
    const partition = ctx.keys.partitionOfSku(sku);
    const outbox = ctx.keys.outbox(partition);
    const read = async () => {
      const reply = (await ctx.redis.xreadgroup('GROUP', ctx.keys.outboxGroup(), 'crashed-consumer', 'COUNT', 100, 'STREAMS', outbox, '>')) as [string, [string, string[]][]][];
      return reply[0][1].map(([entryId, fields]) => parseEntry(entryId, fields[1], partition));
    };
    const first = await reserve(sku, 1);
    const written = await read();
    await writeEntries(ctx.db, written);
    const second = await reserve(sku, 2);
    // The first entries again (their ack was lost), now in one batch with a new one.
    await writeEntries(ctx.db, [...written, ...(await read())]);
    const rows = await query<{ id: string }>(ctx.db, sql`select id from reservations where id in (${first}, ${second}) order by id`);
    expect(rows.map((row) => row.id).sort()).toEqual([first, second].sort());
    const reserves = await query<{ qty: number }>(ctx.db, sql`select qty from stock_movements where sku = ${sku} and type = 'RESERVE' order by qty`);
    expect(reserves.map((row) => row.qty)).toEqual([1, 2]);
    expect((await pass()).drift).toEqual([]);
  });

  it('an entry Postgres refuses as data is moved to the dead letters; the entries behind it still land', async () => {
    const sku = uniqueName('poison-');
    await createSku(ctx, sku, { total: 5 });
    await pass();
    const poison = JSON.stringify({ events: [{ type: 'ADJUST', at: Date.now(), sku, delta: 1, reason: 'bad\u0000byte', actor: 't' }], stock: {} });
    const partition = ctx.keys.partitionOfSku(sku);
    const poisonId = await ctx.redis.xadd(ctx.keys.outbox(partition), '*', 'e', poison);
    const id = await reserve(sku, 1);

    const stopped = await ctx.app.inject({ method: 'POST', url: '/v1/admin/reconcile', headers: adminHeaders, payload: {} });
    expect(stopped.statusCode).toBe(503);
    expect(stopped.json().error.details.report.error).toContain('moved to');
    expect((await reservationRow(id)).status).toBe('PENDING');
    const dead = await ctx.redis.xrange(ctx.keys.deadLetters(partition), '-', '+');
    expect(dead).toHaveLength(1);
    expect(dead[0][1].slice(0, 2)).toEqual(['entry', poisonId]);
    // Operators (and the dashboard) read them through the API.
    const listed = await ctx.app.inject({ method: 'GET', url: '/v1/admin/dead-letters', headers: adminHeaders });
    expect(listed.json().items).toEqual([
      { partition, id: dead[0][0], at: new Date(Number(dead[0][0].split('-')[0])).toISOString(), entryId: poisonId, error: expect.stringMatching(/./), entry: poison },
    ]);
    expect(((await ctx.redis.xpending(ctx.keys.outbox(partition), ctx.keys.outboxGroup())) as [number])[0]).toBe(0);
    expect((await pass()).drift).toEqual([]);
  });

  it('reads outlive Redis: a reservation whose record is gone is answered from Postgres', async () => {
    const sku = uniqueName('outlive-');
    await createSku(ctx, sku, { total: 5 });
    const id = await reserve(sku, 1);
    await post(`/v1/reservations/${id}/commit`);
    await pass();
    await ctx.redis.del(ctx.keys.reservation(id));
    const read = await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${id}` });
    expect(read.json()).toMatchObject({ id, status: 'COMMITTED', items: [{ sku, qty: 1, reserved: 1 }] });
    expect((await post(`/v1/reservations/${id}/commit`)).statusCode).toBe(200);
    expect((await post(`/v1/reservations/${id}/release`)).json().error.code).toBe('RESERVATION_COMMITTED');
  });

  it('reports drift injected into Redis and into Postgres, repairs it, and a second pass finds none', async () => {
    const sku = uniqueName('drift-');
    await createSku(ctx, sku, { total: 10 });
    const id = await reserve(sku, 3);
    await post(`/v1/reservations/${id}/commit`);
    await reserve(sku, 2, { userId: 'u2' });
    expect((await pass()).drift).toEqual([]);

    await ctx.redis.hincrby(ctx.keys.stock(sku), 'sold', 1);
    const found = await pass();
    expect(found.drift).toEqual([{ sku, field: 'sold', redis: 4, postgres: 3, expected: 3 }]);
    expect(found.repaired).toBe(false);
    expect((await rawCounters(ctx, sku)).sold).toBe(4);

    const repaired = await pass(true);
    expect(repaired.repaired).toBe(true);
    expect(await rawCounters(ctx, sku)).toEqual({ total: 10, available: 5, reserved: 2, sold: 3 });
    expect((await pass()).drift).toEqual([]);

    await ctx.redis.hset(ctx.keys.stock(sku), 'total', 50, 'available', 45);
    await ctx.db.execute(sql`update skus set reserved = 7 where sku = ${sku}`);
    const both = await pass(true);
    expect(both.drift).toEqual(
      expect.arrayContaining([
        { sku, field: 'total', redis: 50, postgres: 10, expected: 10 },
        { sku, field: 'available', redis: 45, postgres: 5, expected: 5 },
        { sku, field: 'reserved', redis: 2, postgres: 7, expected: 2 },
      ]),
    );
    expect(await rawCounters(ctx, sku)).toEqual({ total: 10, available: 5, reserved: 2, sold: 3 });
    expect((await pass()).drift).toEqual([]);
  });

  it('a repair whose pass stopped before writing the row: the drain brings the repaired counters, so later drift is still seen', async () => {
    const sku = uniqueName('drift-');
    await createSku(ctx, sku, { total: 10 });
    await post(`/v1/reservations/${await reserve(sku, 3)}/commit`);
    expect((await pass()).drift).toEqual([]);
    const stock = ctx.keys.stock(sku);
    await ctx.redis.hincrby(stock, 'sold', 1);
    const version = Number(await ctx.redis.hget(stock, 'version'));
    expect(await ctx.maintenance.repairStock(sku, version, { total: 10, sold: 3, levels: null })).toMatchObject({ sold: 3, version: version + 1 });
    expect((await pass()).drift).toEqual([]);
    // Were the row left at the version before the repair, Redis would read as newer (a change not
    // yet drained) and this SKU would never be compared again until it changed.
    await ctx.redis.hincrby(stock, 'sold', 1);
    expect((await pass()).drift).toEqual([{ sku, field: 'sold', redis: 4, postgres: 3, expected: 3 }]);
  });

  it('cold start: after Redis lost everything, SKU views, pending holds and per-user counts come back from Postgres', async () => {
    const sku = uniqueName('cold-');
    await createSku(ctx, sku, { total: 10, perUserLimit: 4 });
    const bought = await reserve(sku, 2);
    await post(`/v1/reservations/${bought}/commit`);
    const held = await reserve(sku, 1);
    await reserve(sku, 3, { userId: 'other', ttlSeconds: 1 });
    await pass();
    const before = (await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).json();
    await new Promise((resolve) => setTimeout(resolve, 1100));

    await deleteMatching(ctx.redis, ctx.keys.everything());
    // Redis forgot the SKU: 503 until the engine rebuilt it, never a 404.
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).json().error.code).toBe('UNAVAILABLE');

    await ctx.dataWatch.check();
    for (const partition of allPartitions(ctx.keys.partitions)) expect(await ctx.maintenance.hasDataMarker(partition)).toBe(true);
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).json()).toEqual(before);
    // The hold that expired while Redis was gone ends like any other: the next pass sweeps it,
    // its units go back on the shelf and Postgres records it EXPIRED.
    expect((await pass()).expiredReleased).toBeGreaterThanOrEqual(1);
    const after = { available: 7, reserved: 1 };
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).json()).toEqual({ ...before, ...after, locations: [{ ...before.locations[0], ...after }] });
    const [expired] = await query<{ status: string }>(ctx.db, sql`select r.status from reservations r join reservation_items i on i.reservation_id = r.id where i.sku = ${sku} and r.user_id = 'other'`);
    expect(expired.status).toBe('EXPIRED');
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${held}` })).json().status).toBe('PENDING');
    // u1 holds 1 and bought 2 of a limit of 4: one more is allowed, two are not.
    const limited = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u1', orderId: 'o', items: [{ sku, qty: 2 }] } });
    expect(limited.json().error.code).toBe('PURCHASE_LIMIT_EXCEEDED');
    expect((await post(`/v1/reservations/${held}/commit`)).json().status).toBe('COMMITTED');
    expect(conserved(await rawCounters(ctx, sku))).toBe(true);
    expect((await pass()).drift).toEqual([]);
  });

  it('stores every run and lists them newest first', async () => {
    const runs = await ctx.app.inject({ method: 'GET', url: '/v1/admin/reconcile/runs?limit=3', headers: adminHeaders });
    const items = runs.json().items;
    expect(items).toHaveLength(3);
    expect(items[0].trigger).toBe('api');
    expect(Date.parse(items[0].startedAt)).toBeGreaterThanOrEqual(Date.parse(items[1].startedAt));
  });
});

describe.each(REDIS_TARGETS)('one pass at a time, on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  it('passes never overlap: of two cron ticks at once one runs and the other is refused; a pass asked for through the API or the CLI waits its turn', async () => {
    const other = new Reconciler(ctx.maintenance, ctx.lease, ctx.db);
    const ticks = await Promise.allSettled([ctx.reconciler.run('cron'), other.run('cron')]);
    expect(ticks.filter((tick) => tick.status === 'fulfilled')).toHaveLength(1);
    expect((ticks.find((tick) => tick.status === 'rejected') as PromiseRejectedResult).reason.code).toBe('RECONCILE_IN_PROGRESS');

    const [api, direct] = await Promise.all([
      ctx.app.inject({ method: 'POST', url: '/v1/admin/reconcile', headers: adminHeaders, payload: {} }),
      other.run('cli'),
    ]);
    expect(api.statusCode).toBe(200);
    expect(direct.error).toBeUndefined();
    const [first, second] = [api.json(), direct].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    expect(second.startedAt >= first.finishedAt).toBe(true);
  });
});

describe.each(REDIS_TARGETS)('expiry sweep at scale, on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  it.each(STOCK_LAYOUTS)('10k expired holds each return their units once, while commits and releases race the sweep (stock in %s)', async (layout) => {
    const sku = uniqueName('sweep-');
    await createSku(ctx, sku, stockBody(layout, 20_000));
    const hold = (ttlSeconds: number, n: number) =>
      ctx.engine.reserve({ userId: `u${n}`, orderId: 'o', lines: [{ sku, qty: 1 }], ttlSeconds, allowPartial: false });
    const ids = async (count: number, ttlSeconds: number) =>
      (await Promise.all(Array.from({ length: count }, (_, n) => hold(ttlSeconds, n)))).map((out) => (out.kind === 'created' ? out.reservation.id : ''));
    await ids(10_000, 1);
    const live = await ids(2_000, 600);
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const reconciler = new Reconciler(ctx.maintenance, ctx.lease, ctx.db);
    const [report, commits, releases] = await Promise.all([
      reconciler.run('api'),
      Promise.all(live.slice(0, 1000).map((id) => ctx.engine.commit(id))),
      Promise.all(live.slice(1000).map((id) => ctx.engine.release(id))),
    ]);
    expect(commits.every((r) => r?.reservation.status === 'COMMITTED')).toBe(true);
    expect(releases.every((r) => r?.reservation.status === 'RELEASED')).toBe(true);
    expect(report.error).toBeUndefined();
    expect(report.expiredReleased).toBe(10_000);
    expect(await expectConservedEverywhere(ctx, sku)).toEqual({ total: 20_000, available: 19_000, reserved: 0, sold: 1000 });
    const expireMovements = await query<{ n: string; units: string }>(ctx.db, sql`select count(*) as n, sum(qty) as units from stock_movements where sku = ${sku} and type = 'EXPIRE'`);
    expect(Number(expireMovements[0].n)).toBe(10_000);
    expect(Number(expireMovements[0].units)).toBe(10_000);
    const statuses = await query<{ status: string; n: string }>(ctx.db, sql`select status, count(*) as n from reservations r join reservation_items i on i.reservation_id = r.id where i.sku = ${sku} group by status order by status`);
    expect(statuses.map((row) => [row.status, Number(row.n)])).toEqual([['COMMITTED', 1000], ['EXPIRED', 10_000], ['RELEASED', 1000]]);
    expect((await reconciler.run('api')).expiredReleased).toBe(0);
  });
});

import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows as query } from '../../src/db/client';
import { reservationItems, reservations, skus, stockMovements } from '../../src/db/schema';
import { restoreFromPostgres } from '../../src/reconciler/coldStart';
import {
  type DatabaseTarget,
  type TestContext,
  adminHeaders,
  conserved,
  createSku,
  createTestContext,
  rawCounters,
  reconcilePass,
  uniqueName,
} from '../support/context';

describe.each<DatabaseTarget>(['postgres', 'pglite'])('system of record on %s', (target) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ database: target });
  });
  afterAll(() => ctx.close());

  it('applies the drizzle migrations on open', async () => {
    const result = await ctx.db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`);
    const names = (Array.isArray(result) ? result : (result as { rows: { table_name: string }[] }).rows).map((row: any) => row.table_name);
    expect(names).toEqual(expect.arrayContaining(['reconcile_runs', 'reservation_items', 'reservations', 'skus', 'stock_movements']));
  });

  it('PUT /v1/admin/skus writes the SKU to Postgres as well as Redis', async () => {
    const sku = uniqueName('pg-');
    await createSku(ctx, sku, { total: 7, perUserLimit: 2, startsAt: '2020-01-01T00:00:00.000Z', endsAt: null });
    const [row] = await ctx.db.select().from(skus).where(sql`${skus.sku} = ${sku}`);
    expect(row).toMatchObject({ sku, total: 7, available: 7, reserved: 0, sold: 0, perUserLimit: 2, endsAt: null });
    expect(row.startsAt?.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(row.version).toBeGreaterThan(0);
  });

  it('orderId is optional: a cart hold reads orderId null, from Redis and from Postgres alike', async () => {
    const sku = uniqueName('cart-');
    await createSku(ctx, sku, { total: 3 });
    const created = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u1', items: [{ sku, qty: 1 }] } });
    expect(created.statusCode).toBe(201);
    expect(created.json().orderId).toBeNull();
    const id = created.json().id;
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${id}` })).json().orderId).toBeNull();
    expect((await ctx.reconciler.run('api')).error).toBeUndefined();
    const [row] = await ctx.db.select().from(reservations).where(sql`${reservations.id} = ${id}`);
    expect(row.orderId).toBeNull();
    await ctx.redis.del(ctx.keys.reservation(id));
    const stored = await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${id}` });
    expect(stored.json()).toMatchObject({ id, orderId: null, status: 'PENDING' });
  });

  it('GET /v1/reservations/:id answers from Postgres once Redis no longer has it', async () => {
    const id = uniqueName('old');
    await ctx.db.insert(reservations).values({
      id,
      userId: 'u1',
      orderId: 'o1',
      status: 'PENDING',
      createdAt: new Date('2024-01-01T00:00:00Z'),
      expiresAt: new Date('2024-01-01T00:15:00Z'),
    });
    await ctx.db.insert(reservationItems).values([
      { reservationId: id, sku: 'b', lineNo: 1, qty: 2, reserved: 1 },
      { reservationId: id, sku: 'a', lineNo: 0, qty: 1, reserved: 1 },
    ]);
    const response = await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${id}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      id,
      status: 'EXPIRED',
      userId: 'u1',
      orderId: 'o1',
      items: [
        { sku: 'a', qty: 1, reserved: 1, backordered: 0, status: 'RESERVED', allocations: [{ location: 'default', reserved: 1 }] },
        { sku: 'b', qty: 2, reserved: 1, backordered: 1, status: 'BACKORDERED', allocations: [{ location: 'default', reserved: 1 }] },
      ],
      createdAt: '2024-01-01T00:00:00.000Z',
      expiresAt: '2024-01-01T00:15:00.000Z',
    });
    // Postgres still says PENDING: how it ended is not recorded yet (the drain lags), so a commit
    // or release cannot be answered either way until it is.
    for (const action of ['commit', 'release']) {
      const answer = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/${action}` });
      expect([answer.statusCode, answer.json().error.code]).toEqual([503, 'UNAVAILABLE']);
    }
    await ctx.db.update(reservations).set({ status: 'EXPIRED' }).where(sql`${reservations.id} = ${id}`);
    const commit = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/commit` });
    expect(commit.json().error.code).toBe('RESERVATION_EXPIRED');
    const release = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/release` });
    expect(release.json().status).toBe('EXPIRED');
  });

  it('lists movements newest first', async () => {
    const sku = uniqueName('mv-');
    const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s));
    await ctx.db.insert(stockMovements).values([
      { eventKey: `${sku}-1`, sku, type: 'SET', qty: 10, actor: 'admin-api', at: at(1) },
      { eventKey: `${sku}-2`, sku, type: 'RESERVE', qty: 2, reservationId: 'r1', at: at(2) },
      { eventKey: `${sku}-3`, sku, type: 'COMMIT', qty: 2, reservationId: 'r1', at: at(3) },
    ]);
    const response = await ctx.app.inject({ method: 'GET', url: `/v1/admin/skus/${sku}/movements?limit=2`, headers: adminHeaders });
    expect(response.json().items).toEqual([
      { at: at(3).toISOString(), location: 'default', type: 'COMMIT', qty: 2, reason: null, actor: null, reservationId: 'r1' },
      { at: at(2).toISOString(), location: 'default', type: 'RESERVE', qty: 2, reason: null, actor: null, reservationId: 'r1' },
    ]);
  });
});

describe('Postgres answering for reservations Redis no longer has', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** Waits until Redis time is past an ISO `expiresAt` (both clocks are this machine's). */
  const sleepPast = (expiresAt: string) => sleep(Date.parse(expiresAt) - Date.now() + 100);
  const reserve = async (sku: string, qty: number, ttlSeconds: number) => {
    const response = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u1', orderId: 'o1', items: [{ sku, qty }], ttlSeconds } });
    expect(response.statusCode).toBe(201);
    return response.json() as { id: string; expiresAt: string };
  };
  const commit = (id: string) => ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/commit` });

  it('a repeated commit, record gone, past expiresAt, COMMIT not drained: 503 until Postgres knows, never 409 EXPIRED', async () => {
    const sku = uniqueName('late-');
    await createSku(ctx, sku, { total: 5 });
    const { id, expiresAt } = await reserve(sku, 1, 2);
    await reconcilePass(ctx);
    expect((await commit(id)).statusCode).toBe(200);
    // The retention window passed while the drain lagged: the record is gone, Postgres says PENDING.
    await ctx.redis.del(ctx.keys.reservation(id));
    await sleepPast(expiresAt);

    const early = await commit(id);
    expect(early.statusCode).toBe(503);
    expect(early.json().error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('not yet recorded') });
    await reconcilePass(ctx);
    const late = await commit(id);
    expect(late.statusCode).toBe(200);
    expect(late.json()).toMatchObject({ id, status: 'COMMITTED' });
  });

  it('cold start: a hold that expired while Redis was gone is restored, swept once, and recorded EXPIRED', async () => {
    const sku = uniqueName('coldexp-');
    await createSku(ctx, sku, { total: 5 });
    const { id, expiresAt } = await reserve(sku, 2, 1);
    await reconcilePass(ctx);
    await sleepPast(expiresAt);
    await ctx.redis.del(...(await ctx.redis.keys(ctx.keys.everything())));

    // As a rebuild does it: under the partitions' rebuild tokens (src/redis/restoreGuard.ts).
    const tokens = new Map(await Promise.all(ctx.maintenance.partitions.map(async (partition) => [partition, await ctx.maintenance.beginRebuild(partition)] as const)));
    await restoreFromPostgres(ctx.maintenance, ctx.db, { guard: ctx.maintenance.restoreGuard(tokens) });
    // Back as held, without its record: its units return with the next sweep, not at restore.
    expect(await rawCounters(ctx, sku)).toEqual({ total: 5, available: 3, reserved: 2, sold: 0 });
    expect(await ctx.redis.exists(ctx.keys.reservation(id))).toBe(0);

    expect((await reconcilePass(ctx)).expiredReleased).toBe(1);
    const second = await reconcilePass(ctx);
    expect(second.expiredReleased).toBe(0);
    expect(second.drift).toEqual([]);
    const counters = await rawCounters(ctx, sku);
    expect(counters).toEqual({ total: 5, available: 5, reserved: 0, sold: 0 });
    expect(conserved(counters)).toBe(true);
    const [row] = await query<{ status: string }>(ctx.db, sql`select status from reservations where id = ${id}`);
    expect(row.status).toBe('EXPIRED');
    const expiries = await query<{ qty: number }>(ctx.db, sql`select qty from stock_movements where reservation_id = ${id} and type = 'EXPIRE'`);
    expect(expiries).toEqual([{ qty: 2 }]);
  });
});

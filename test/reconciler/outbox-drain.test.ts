import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows as query } from '../src/db/client';
import { restoreFromPostgres } from '../src/reconciler/coldStart';
import { drainOutbox } from '../src/reconciler/outboxDrain';
import { type TestContext, conserved, createSku, createTestContext, rawCounters, uniqueName } from './support/context';
import { type TestPostgres, startTestPostgres } from './support/servers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A reconciler pass that must not fail. */
async function pass(ctx: TestContext) {
  const report = await ctx.reconciler.run('api');
  expect(report.error).toBeUndefined();
  return report;
}

async function reserve(ctx: TestContext, sku: string, qty: number, ttlSeconds: number) {
  const response = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u1', orderId: 'o1', items: [{ sku, qty }], ttlSeconds } });
  expect(response.statusCode).toBe(201);
  return response.json() as { id: string; expiresAt: string };
}

const commit = (ctx: TestContext, id: string) => ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/commit` });

/** Waits until Redis time is past an ISO `expiresAt` (both clocks are this machine's). */
const sleepPast = (expiresAt: string) => sleep(Date.parse(expiresAt) - Date.now() + 100);

describe('a. an outbox entry refused as data is dead-lettered whole, never half applied', () => {
  /** Beyond Postgres's int: a data exception (22003) in whichever statement carries it. */
  const OUT_OF_RANGE = 3_000_000_000;
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  const reservationId = () => uniqueName('a');

  /**
   * XADDs an entry in the format of src/reconciler/events.ts: a RESERVE of `reservationId`
   * (record format of lua/includes/reservationRecord.lua), an ADJUST, and the SKU's counters.
   */
  const xaddEntry = async (sku: string, reservationId: string, { qty = 1, total = 10 }) => {
    const now = Date.now();
    const reserveEvent = `${reservationId}|P|${now}|60000||u1|o1|${sku}|${qty}|${qty}`;
    const adjust = { type: 'ADJUST', at: now, sku, delta: 1, reason: 'crafted', actor: 'test' };
    const stock = [[sku, total, total - 1, 1, 0, 1_000_000]];
    return (await ctx.redis.xadd(ctx.keys.outbox(0), '*', 'e', JSON.stringify({ events: [reserveEvent, adjust], stock })))!;
  };
  const rowsOfEntry = async (entryId: string, reservationId: string) => ({
    reservations: await query(ctx.db, sql`select id from reservations where id = ${reservationId}`),
    movements: await query(ctx.db, sql`select event_key from stock_movements where event_key like ${`${entryId}:%`}`),
  });
  const newSku = async (prefix: string) => {
    const sku = uniqueName(prefix);
    await createSku(ctx, sku, { total: 10 });
    await pass(ctx);
    return sku;
  };

  it('a batch of one entry whose counters are refused: nothing of it reaches Postgres', async () => {
    const sku = await newSku('dl1-');
    const id = reservationId();
    const entry = await xaddEntry(sku, id, { total: OUT_OF_RANGE });

    expect(await drainOutbox(ctx.maintenance.outbox, ctx.db)).toMatchObject({ deadLettered: 1 });
    expect(await rowsOfEntry(entry, id)).toEqual({ reservations: [], movements: [] });
  });

  it('an entry refused as data in a batch with good ones: nothing of it lands, the good ones land whole', async () => {
    const good = reservationId();
    const goodEntry = await xaddEntry(await newSku('dl3-'), good, {});
    // Another SKU: in one batch the newest counters of a SKU win, so the refused ones must be its own.
    const refused = reservationId();
    const refusedEntry = await xaddEntry(await newSku('dl3-'), refused, { total: OUT_OF_RANGE });

    expect(await drainOutbox(ctx.maintenance.outbox, ctx.db)).toMatchObject({ deadLettered: 1 });
    expect(await rowsOfEntry(refusedEntry, refused)).toEqual({ reservations: [], movements: [] });
    const landed = await rowsOfEntry(goodEntry, good);
    expect([landed.reservations.length, landed.movements.length]).toEqual([1, 2]);
  });

  it('entries retried one by one after their batch was refused: each lands whole or not at all', async () => {
    const sku = await newSku('dl2-');
    // Refused for different rows: the first's counters, the second's reservation line.
    const counterRefused = reservationId();
    const first = await xaddEntry(sku, counterRefused, { total: OUT_OF_RANGE });
    const lineRefused = reservationId();
    const second = await xaddEntry(sku, lineRefused, { qty: OUT_OF_RANGE });

    expect(await drainOutbox(ctx.maintenance.outbox, ctx.db)).toMatchObject({ deadLettered: 2 });
    expect(await rowsOfEntry(first, counterRefused)).toEqual({ reservations: [], movements: [] });
    expect(await rowsOfEntry(second, lineRefused)).toEqual({ reservations: [], movements: [] });
    const dead = await ctx.redis.xrange(ctx.keys.deadLetters(0), '-', '+');
    expect(dead.map(([, fields]) => fields[1])).toEqual(expect.arrayContaining([first, second]));
  });
});

describe('b. GET /ready with the Postgres of DATABASE_URL down', () => {
  let postgres: TestPostgres;
  let ctx: TestContext;
  beforeAll(async () => {
    postgres = await startTestPostgres();
    ctx = await createTestContext({ postgresUrl: postgres.url });
  });
  afterAll(async () => {
    postgres.start();
    await ctx.close();
    await postgres.stop();
  });

  it('answers 503 UNAVAILABLE in the one error shape, naming Postgres', async () => {
    expect((await ctx.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    postgres.kill();
    const response = await ctx.app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: { code: 'UNAVAILABLE', message: expect.stringContaining('Postgres') } });
  });
});

describe('c and d: Postgres answering for reservations Redis no longer has', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  it('c. a repeated commit, record gone, past expiresAt, COMMIT not drained: 503 until Postgres knows, never 409 EXPIRED', async () => {
    const sku = uniqueName('late-');
    await createSku(ctx, sku, { total: 5 });
    const { id, expiresAt } = await reserve(ctx, sku, 1, 2);
    await pass(ctx);
    expect((await commit(ctx, id)).statusCode).toBe(200);
    // The retention window passed while the drain lagged: the record is gone, Postgres says PENDING.
    await ctx.redis.del(ctx.keys.reservation(id));
    await sleepPast(expiresAt);

    const early = await commit(ctx, id);
    expect(early.statusCode).toBe(503);
    expect(early.json().error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('not yet recorded') });
    await pass(ctx);
    const late = await commit(ctx, id);
    expect(late.statusCode).toBe(200);
    expect(late.json()).toMatchObject({ id, status: 'COMMITTED' });
  });

  it('d. cold start: a hold that expired while Redis was gone is restored, swept once, and recorded EXPIRED', async () => {
    const sku = uniqueName('coldexp-');
    await createSku(ctx, sku, { total: 5 });
    const { id, expiresAt } = await reserve(ctx, sku, 2, 1);
    await pass(ctx);
    await sleepPast(expiresAt);
    await ctx.redis.del(...(await ctx.redis.keys(ctx.keys.everything())));

    await restoreFromPostgres(ctx.maintenance, ctx.db);
    // Back as held, without its record: its units return with the next sweep, not at restore.
    expect(await rawCounters(ctx, sku)).toEqual({ total: 5, available: 3, reserved: 2, sold: 0 });
    expect(await ctx.redis.exists(ctx.keys.reservation(id))).toBe(0);

    expect((await pass(ctx)).expiredReleased).toBe(1);
    const second = await pass(ctx);
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

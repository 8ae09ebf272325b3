/**
 * The drain of the outbox into Postgres (src/reconciler/outboxDrain.ts) with entries Postgres
 * refuses as data: a drained batch is one transaction, so an entry lands whole or not at all.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows as query } from '../../src/db/client';
import { drainOutbox } from '../../src/reconciler/outboxDrain';
import { type TestContext, createSku, createTestContext, reconcilePass, uniqueName } from '../support/context';

describe('an outbox entry refused as data is dead-lettered whole, never half applied', () => {
  /** Beyond Postgres's int: a data exception (22003) in whichever statement carries it. */
  const OUT_OF_RANGE = 3_000_000_000;
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  const reservationId = () => uniqueName('a');

  /**
   * XADDs an entry in the format of src/redis/outboxEntry.ts: a RESERVE of `reservationId`
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
    await reconcilePass(ctx);
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

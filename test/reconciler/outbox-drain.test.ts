/**
 * The drain of the outbox into Postgres (src/reconciler/outboxDrain.ts) with entries Postgres
 * refuses as data: a drained batch is one transaction, so an entry lands whole or not at all; and two
 * passes overlapping once the first lost its lease (drainFence.ts): their batches never land out of order.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows as query } from '../../src/db/client';
import { findBucketMoves, findUnfinishedMoves, upsertBucketMoves } from '../../src/db/bucketMoveRepository';
import postgres from 'postgres';
import { applyEntries } from '../../src/reconciler/applyEntries';
import { LeaseLostError, assertSameEpoch } from '../../src/reconciler/drainFence';
import { drainOutbox } from '../../src/reconciler/outboxDrain';
import { parseEntry } from '../../src/redis/outboxEntry';
import { REDIS_TARGETS, type TestContext, createSku, createTestContext, reconcilePass, uniqueName } from '../support/context';

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

  it("a dead-lettered move in is still recorded as arrived, with its movement: the reconciler never gives its units again", async () => {
    const target = await newSku('dl4-');
    const move = uniqueName('move-');
    const now = Date.now();
    // The move out, written ahead of the drain as bucketMoves.ts does.
    await upsertBucketMoves(ctx.db, [{ id: move, from_sku: `${target}-source`, to_sku: target, qty: 2, location: null, out_at: now - 60_000, in_at: null }]);
    // Its move in, with counters Postgres refuses.
    const moveIn = { type: 'MOVE', at: now, sku: target, delta: 2, move, peer: `${target}-source` };
    const entry = await ctx.redis.xadd(ctx.keys.outbox(0), '*', 'e', JSON.stringify({ events: [moveIn], stock: [[target, OUT_OF_RANGE, 12, 0, 0, 1_000_000]] }));

    expect(await drainOutbox(ctx.maintenance.outbox, ctx.db)).toMatchObject({ deadLettered: 1 });
    // The facts a rebuild or a repair adds up hold the units: the MOVE is recorded, the counters are not.
    expect(await query(ctx.db, sql`select type, qty from stock_movements where event_key like ${`${entry}:%`}`)).toEqual([{ type: 'MOVE', qty: 2 }]);
    const arrivedAt = (await findBucketMoves(ctx.db, [move])).get(move)?.inAt;
    expect(arrivedAt && Date.parse(String(arrivedAt))).toBe(now);
    expect((await findUnfinishedMoves(ctx.db, Date.now(), 10_000)).map((row) => row.id)).not.toContain(move);
  });
});

describe.each(REDIS_TARGETS)('two reconciler passes overlapping once the first lost its lease, on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  it('the batch of the pass that took the lease waits for the one in flight, which then writes nothing', async () => {
    const sku = uniqueName('overlap-');
    await createSku(ctx, sku, { total: 5 });
    await reconcilePass(ctx);
    const reserved = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u1', items: [{ sku, qty: 1 }] } });
    const id = reserved.json().id;
    const inPostgres = async () => (await query(ctx.db, sql`select id from reservations where id = ${id}`)).length === 1;

    // Pass A reads the hold's entry and stops in its batch's transaction, just after the writer
    // lock, where it asks whether it still holds the lease: a slow pass, for real.
    const leaseA = (await ctx.lease.acquire())!;
    let askedA!: () => void;
    const asked = new Promise<void>((resolve) => (askedA = resolve));
    let answerA!: () => void;
    const answering = new Promise<void>((resolve) => (answerA = resolve));
    const passA = drainOutbox(ctx.maintenance.outbox, ctx.db, {
      consumer: 'pass-a',
      leaseHeld: async () => {
        askedA();
        await answering;
        return leaseA.held();
      },
    }).then(
      () => null,
      (error: unknown) => error,
    );
    // Meanwhile its lease goes (FLUSHALL takes it, or it runs out while Redis is paused), and pass B takes it.
    const leaseB = (await Promise.all([asked, ctx.redis.del(ctx.keys.reconcileLease())]).then(() => ctx.lease.acquire()))!;
    const passB = drainOutbox(ctx.maintenance.outbox, ctx.db, { consumer: 'pass-b', leaseHeld: () => leaseB.held() });
    try {
      // B claims the entry A has in flight and waits for A's batch: nothing of it lands first.
      const watcher = postgres(ctx.config.databaseUrl!, { max: 1, onnotice: () => {} });
      try {
        // Advisory locks waited for in this database, of the drain writer's class ("drwr").
        const waiting = async () =>
          (
            await watcher`select count(*)::int as n from pg_locks
              where locktype = 'advisory' and not granted and classid = ${0x64727772}::bigint::oid
                and database = (select oid from pg_database where datname = current_database())`
          )[0].n;
        const deadline = Date.now() + 10_000;
        while ((await waiting()) < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(await waiting()).toBe(1);
      } finally {
        await watcher.end({ timeout: 1 });
      }
      expect(await inPostgres()).toBe(false);
    } finally {
      answerA();
    }
    // A no longer holds the lease: its batch writes nothing and its drain stops; B's writes the hold.
    expect(await passA).toBeInstanceOf(LeaseLostError);
    await passB;
    expect(await inPostgres()).toBe(true);
    await leaseA.release();
    await leaseB.release();
    await reconcilePass(ctx);
  });
});

describe.each(REDIS_TARGETS)('a batch written after a later one, on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  it('takes nothing back: entries at or before the partition\'s mark are not applied again', async () => {
    const sku = uniqueName('mark-');
    await createSku(ctx, sku, { total: 5 });
    const inject = (url: string, payload: unknown) => ctx.app.inject({ method: 'POST', url, payload: payload as never });
    const id = (await inject('/v1/reservations', { userId: 'u1', items: [{ sku, qty: 1 }] })).json().id;
    await reconcilePass(ctx);
    const partition = ctx.maintenance.partitionOfReservation(id);
    const extend = async (ttlSeconds: number) => (await inject(`/v1/reservations/${id}/extend`, { ttlSeconds })).json().expiresAt as string;
    await extend(600);
    const later = await extend(1200);
    // The first extension's entry, as a write ahead of the drain might have read it before the drain wrote both.
    const raw = await ctx.redis.xrange(ctx.keys.outbox(partition), '-', '+');
    const entries = raw.map(([entryId, fields]) => parseEntry(entryId, fields[1], partition));
    const stale = entries.filter((entry) => entry.events.some((event) => event.type === 'EXTEND')).slice(0, 1);
    expect(stale).toHaveLength(1);
    await reconcilePass(ctx);
    const expiresAt = async () => (await query<{ at: Date }>(ctx.db, sql`select expires_at as at from reservations where id = ${id}`))[0].at;
    expect(new Date(await expiresAt()).toISOString()).toBe(later);

    const epoch = await ctx.maintenance.outbox.epochOf(partition);
    await applyEntries(ctx.db, { partition, epoch, entries: stale }, { fence: (tx) => assertSameEpoch(tx, partition, epoch, () => ctx.maintenance.outbox.epochOf(partition)) });
    expect(new Date(await expiresAt()).toISOString()).toBe(later);
  });
});

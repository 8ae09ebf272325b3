import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors';
import type { ReserveCommand } from '../../src/redis/stockEngine';
import { parseEntry } from '../../src/redis/outboxEntry';
import { REDIS_TARGETS, type TestContext, conserved, createTestContext, moveExpiry, rawCounters, readRecord, skuIn, uniqueName } from '../support/context';

describe.each(REDIS_TARGETS)('on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  function command(lines: ReserveCommand['lines'], extra: Partial<ReserveCommand> = {}): ReserveCommand {
    return { userId: 'u1', orderId: 'o1', lines, ttlSeconds: 900, allowPartial: false, ...extra };
  }

  async function newSku(total: number, settings: { perUserLimit?: number; startsAt?: string; endsAt?: string; partition?: number } = {}) {
    const sku = settings.partition === undefined ? uniqueName('sku-') : skuIn(ctx, settings.partition);
    await ctx.engine.setStock(sku, { total, perUserLimit: settings.perUserLimit ?? null, startsAt: settings.startsAt ?? null, endsAt: settings.endsAt ?? null }, 'test');
    return sku;
  }

  async function refusalOf(promise: Promise<unknown>): Promise<DomainError> {
    const error = await promise.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }

  /** The event types in the outbox of `sku`'s partition. */
  async function outboxTypes(sku: string): Promise<string[]> {
    const entries = await ctx.redis.xrange(ctx.keys.outbox(ctx.keys.partitionOfSku(sku)), '-', '+');
    return entries.flatMap(([entryId, fields]) => parseEntry(entryId, fields[1]).events.map((event) => event.type));
  }

  describe('reserve', () => {
    it('holds all lines, writes the record with its TTL, the expiry index and an outbox event', async () => {
      const a = await newSku(10);
      // In one partition: a reservation over several partitions cannot be held yet.
      const b = await newSku(5, { partition: ctx.keys.partitionOfSku(a) });
      const before = (await outboxTypes(a)).length;
      const out = await ctx.engine.reserve(command([{ sku: a, qty: 3 }, { sku: b, qty: 5 }]));
      if (out.kind !== 'created') throw new Error('expected a reservation');
      const { reservation } = out;
      expect(reservation.items.map((i) => [i.sku, i.reserved, i.status])).toEqual([[a, 3, 'RESERVED'], [b, 5, 'RESERVED']]);
      expect(Date.parse(reservation.expiresAt) - Date.parse(reservation.createdAt)).toBe(900_000);
      expect(await rawCounters(ctx, a)).toEqual({ total: 10, available: 7, reserved: 3, sold: 0 });
      expect(await rawCounters(ctx, b)).toEqual({ total: 5, available: 0, reserved: 5, sold: 0 });
      const ttl = await ctx.redis.pttl(ctx.keys.reservation(reservation.id));
      expect(ttl).toBeGreaterThan(900_000);
      expect(await readRecord(ctx, reservation.id)).toEqual({
        status: 'PENDING',
        createdAt: Date.parse(reservation.createdAt),
        expiresAt: Date.parse(reservation.expiresAt),
        finishedAt: '',
        userId: 'u1',
        orderId: 'o1',
        lines: `${a}|3|3,${b}|5|5`,
      });
      expect(await ctx.redis.zscore(ctx.keys.expiry(a), `${reservation.id}|3|u1`)).toBe(String(Date.parse(reservation.expiresAt)));
      // Per-user counts are kept only for SKUs with a per-user limit.
      expect(await ctx.redis.exists(ctx.keys.buyers(a))).toBe(0);
      expect(await ctx.redis.zscore(ctx.keys.sweepDue(ctx.keys.partitionOfSku(a)), a)).toBe(String(Date.parse(reservation.expiresAt)));
      const types = await outboxTypes(a);
      expect(types.slice(before)).toEqual(['RESERVE']);
    });

    it('all-or-nothing: one short line holds nothing and reports the short lines', async () => {
      const a = await newSku(10);
      const b = await newSku(1, { partition: ctx.keys.partitionOfSku(a) }); // one partition: see the first test
      const error = await refusalOf(ctx.engine.reserve(command([{ sku: a, qty: 2 }, { sku: b, qty: 2 }])));
      expect(error.code).toBe('INSUFFICIENT_STOCK');
      expect(error.details).toEqual({ items: [{ sku: b, requested: 2, available: 1 }] });
      expect(await rawCounters(ctx, a)).toEqual({ total: 10, available: 10, reserved: 0, sold: 0 });
      expect(await rawCounters(ctx, b)).toEqual({ total: 1, available: 1, reserved: 0, sold: 0 });
    });

    it('allowPartial holds what each line can, and refuses when no unit at all can be held', async () => {
      const a = await newSku(10);
      const b = await newSku(1, { partition: ctx.keys.partitionOfSku(a) }); // one partition: see the first test
      const out = await ctx.engine.reserve(command([{ sku: a, qty: 2 }, { sku: b, qty: 3 }], { allowPartial: true }));
      if (out.kind !== 'created') throw new Error('expected a reservation');
      expect(out.reservation.items[1]).toEqual({ sku: b, qty: 3, reserved: 1, backordered: 2, status: 'BACKORDERED', allocations: [{ location: 'default', reserved: 1 }] });
      const none = await refusalOf(ctx.engine.reserve(command([{ sku: b, qty: 1 }], { allowPartial: true })));
      expect(none.code).toBe('INSUFFICIENT_STOCK');
    });

    it('refuses unknown SKUs and closed sale windows, naming the line', async () => {
      const missing = uniqueName('nope-');
      expect((await refusalOf(ctx.engine.reserve(command([{ sku: missing, qty: 1 }])))).details).toEqual({ sku: missing });
      const future = await newSku(5, { startsAt: new Date(Date.now() + 3_600_000).toISOString() });
      const past = await newSku(5, { endsAt: new Date(Date.now() - 1000).toISOString() });
      expect((await refusalOf(ctx.engine.reserve(command([{ sku: future, qty: 1 }])))).code).toBe('SALE_NOT_ACTIVE');
      expect((await refusalOf(ctx.engine.reserve(command([{ sku: past, qty: 1 }])))).code).toBe('SALE_NOT_ACTIVE');
      expect(await rawCounters(ctx, future)).toMatchObject({ available: 5, reserved: 0 });
    });

    it('counts pending and committed units against the per-user limit', async () => {
      const sku = await newSku(10, { perUserLimit: 3 });
      const first = await ctx.engine.reserve(command([{ sku, qty: 2 }]));
      if (first.kind !== 'created') throw new Error('expected a reservation');
      await ctx.engine.commit(first.reservation.id);
      const error = await refusalOf(ctx.engine.reserve(command([{ sku, qty: 2 }])));
      expect(error.code).toBe('PURCHASE_LIMIT_EXCEEDED');
      expect(error.details).toMatchObject({ alreadyHeld: 2, limit: 3 });
      await ctx.engine.reserve(command([{ sku, qty: 1 }]));
      await ctx.engine.reserve(command([{ sku, qty: 1 }], { userId: 'someone-else' }));
      expect(await rawCounters(ctx, sku)).toEqual({ total: 10, available: 6, reserved: 2, sold: 2 });
    });

    it('a limit set on a SKU already on sale counts what shoppers hold and bought; removing it keeps the bought', async () => {
      const sku = await newSku(10);
      const bought = await ctx.engine.reserve(command([{ sku, qty: 2 }]));
      if (bought.kind !== 'created') throw new Error('expected a reservation');
      await ctx.engine.commit(bought.reservation.id);
      expect(await ctx.redis.hget(ctx.keys.buyers(sku), 'u1')).toBe('2');
      await ctx.engine.reserve(command([{ sku, qty: 1 }]));
      // Without a limit, held units are not counted per user.
      expect(await ctx.redis.hget(ctx.keys.buyers(sku), 'u1')).toBe('2');
      await ctx.engine.setStock(sku, { total: 10, perUserLimit: 3, startsAt: null, endsAt: null }, 'test');
      expect(await ctx.redis.hget(ctx.keys.buyers(sku), 'u1')).toBe('3');
      expect((await refusalOf(ctx.engine.reserve(command([{ sku, qty: 1 }])))).code).toBe('PURCHASE_LIMIT_EXCEEDED');
      await ctx.engine.setStock(sku, { total: 10, perUserLimit: null, startsAt: null, endsAt: null }, 'test');
      expect(await ctx.redis.hget(ctx.keys.buyers(sku), 'u1')).toBe('2');
      expect((await ctx.engine.reserve(command([{ sku, qty: 2 }]))).kind).toBe('created');
    });

    it('binds an idempotency key to its reservation; a different body is refused; a refusal binds nothing', async () => {
      const sku = await newSku(1);
      const idempotency = { keyHash: 'k1', bodyDigest: 'f1' };
      const empty = await newSku(0);
      expect((await refusalOf(ctx.engine.reserve(command([{ sku: empty, qty: 1 }], { idempotency })))).code).toBe('INSUFFICIENT_STOCK');
      const first = await ctx.engine.reserve(command([{ sku, qty: 1 }], { idempotency }));
      if (first.kind !== 'created') throw new Error('expected a reservation');
      const again = await ctx.engine.reserve(command([{ sku, qty: 1 }], { idempotency }));
      expect(again).toEqual({ kind: 'replayed', reservationId: first.reservation.id });
      const reused = await refusalOf(ctx.engine.reserve(command([{ sku, qty: 1 }], { idempotency: { keyHash: 'k1', bodyDigest: 'other' } })));
      expect(reused.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(await ctx.redis.pttl(ctx.keys.idempotency('u1', 'k1'))).toBeGreaterThan(23 * 3600_000);
      expect(await rawCounters(ctx, sku)).toMatchObject({ available: 0, reserved: 1 });
    });

    it('sweeps the SKU expired holds before deciding (tampered expiry)', async () => {
      const sku = await newSku(1);
      const held = await ctx.engine.reserve(command([{ sku, qty: 1 }]));
      if (held.kind !== 'created') throw new Error('expected a reservation');
      await ctx.redis.zadd(ctx.keys.expiry(sku), 1, `${held.reservation.id}|1|u1`);
      const next = await ctx.engine.reserve(command([{ sku, qty: 1 }], { userId: 'u2' }));
      expect(next.kind).toBe('created');
      expect(await rawCounters(ctx, sku)).toEqual({ total: 1, available: 0, reserved: 1, sold: 0 });
      expect(await ctx.redis.hget(ctx.keys.buyers(sku), 'u1')).toBeNull();
      expect((await outboxTypes(sku)).includes('EXPIRE')).toBe(true);
    });
  });

  describe('reserves folded into one script call', () => {
    it('decides each request on its own, in order, and writes one outbox entry for the batch', async () => {
      // In u1's partition, where its Idempotency-Key lives: one script call (a key elsewhere is claimed first, partitions.test.ts).
      const sku = await newSku(3, { partition: ctx.keys.partitionOfUser('u1') });
      const idempotency = { keyHash: uniqueName('k'), bodyDigest: 'f' };
      const outbox = ctx.keys.outbox(ctx.keys.partitionOfSku(sku));
      const entriesBefore = await ctx.redis.xlen(outbox);
      // Submitted in the same event-loop turn: one call of the reserve script.
      const outcomes = await Promise.allSettled([
        ctx.engine.reserve(command([{ sku, qty: 2 }])),
        ctx.engine.reserve(command([{ sku, qty: 2 }])),
        ctx.engine.reserve(command([{ sku: uniqueName('nope-'), qty: 1 }])),
        ctx.engine.reserve(command([{ sku, qty: 1 }], { idempotency })),
        ctx.engine.reserve(command([{ sku, qty: 1 }], { idempotency })),
        ctx.engine.reserve(command([{ sku, qty: 1 }])),
      ]);
      const summary = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.kind : (outcome.reason as DomainError).code));
      expect(summary).toEqual(['created', 'INSUFFICIENT_STOCK', 'SKU_NOT_FOUND', 'created', 'replayed', 'INSUFFICIENT_STOCK']);
      const fourth = (outcomes[3] as PromiseFulfilledResult<{ kind: 'created'; reservation: { id: string } }>).value.reservation.id;
      expect((outcomes[4] as PromiseFulfilledResult<{ reservationId: string }>).value.reservationId).toBe(fourth);
      expect((outcomes[1] as PromiseRejectedResult).reason.details).toEqual({ items: [{ sku, requested: 2, available: 1 }] });
      expect(await rawCounters(ctx, sku)).toEqual({ total: 3, available: 0, reserved: 3, sold: 0 });
      expect(await ctx.redis.zcard(ctx.keys.expiry(sku))).toBe(2);
      expect((await ctx.redis.xlen(outbox)) - entriesBefore).toBe(1);
    });
  });

  describe('commit, release, extend', () => {
    async function held(sku: string, qty = 1) {
      const out = await ctx.engine.reserve(command([{ sku, qty }]));
      if (out.kind !== 'created') throw new Error('expected a reservation');
      return out.reservation.id;
    }

    it('commit moves held units to sold once; repeats change nothing; release after commit is refused', async () => {
      const sku = await newSku(5);
      const id = await held(sku, 2);
      expect(await ctx.engine.commit(id)).toMatchObject({ reservation: { status: 'COMMITTED' }, changed: true });
      expect(await ctx.engine.commit(id)).toMatchObject({ reservation: { status: 'COMMITTED' }, changed: false });
      expect(await rawCounters(ctx, sku)).toEqual({ total: 5, available: 3, reserved: 0, sold: 2 });
      expect((await refusalOf(ctx.engine.release(id))).code).toBe('RESERVATION_COMMITTED');
      expect((await refusalOf(ctx.engine.extend(id, 60))).code).toBe('RESERVATION_COMMITTED');
    });

    it('release returns units once; repeats change nothing; commit after release is refused', async () => {
      const sku = await newSku(5);
      const id = await held(sku, 2);
      expect(await ctx.engine.release(id)).toMatchObject({ reservation: { status: 'RELEASED' }, changed: true });
      expect(await ctx.engine.release(id)).toMatchObject({ reservation: { status: 'RELEASED' }, changed: false });
      expect(await rawCounters(ctx, sku)).toEqual({ total: 5, available: 5, reserved: 0, sold: 0 });
      expect(await ctx.redis.hget(ctx.keys.buyers(sku), 'u1')).toBeNull();
      expect((await refusalOf(ctx.engine.commit(id))).code).toBe('RESERVATION_RELEASED');
      expect((await refusalOf(ctx.engine.extend(id, 60))).code).toBe('RESERVATION_RELEASED');
    });

    it('past its expiry (tampered record) commit is refused, release answers EXPIRED, units return once', async () => {
      const sku = await newSku(5);
      const id = await held(sku, 2);
      await moveExpiry(ctx, id, sku, 1);
      expect((await refusalOf(ctx.engine.commit(id))).code).toBe('RESERVATION_EXPIRED');
      expect((await ctx.engine.release(id))?.reservation.status).toBe('EXPIRED');
      expect((await refusalOf(ctx.engine.extend(id, 60))).code).toBe('RESERVATION_EXPIRED');
      expect(await rawCounters(ctx, sku)).toEqual({ total: 5, available: 5, reserved: 0, sold: 0 });
      expect((await ctx.engine.getReservation(id))?.status).toBe('EXPIRED');
    });

    it('commit refuses a hold whose units a sweep already returned (Redis time stepped back), selling nothing', async () => {
      const sku = await newSku(5);
      const id = await held(sku, 2);
      // As if a sweep had run with a later clock: the member is gone and its units are back.
      await ctx.redis.zrem(ctx.keys.expiry(sku), `${id}|2|u1`);
      await ctx.redis.hincrby(ctx.keys.stock(sku), 'reserved', -2);
      await ctx.redis.hincrby(ctx.keys.stock(sku), 'available', 2);
      expect((await refusalOf(ctx.engine.commit(id))).code).toBe('RESERVATION_EXPIRED');
      expect(await rawCounters(ctx, sku)).toEqual({ total: 5, available: 5, reserved: 0, sold: 0 });
      expect((await ctx.engine.getReservation(id))?.status).toBe('EXPIRED');
    });

    it('extend moves the expiry of record and index, capped one hour after createdAt', async () => {
      const sku = await newSku(5);
      const id = await held(sku);
      const extended = await ctx.engine.extend(id, 3600);
      const created = Date.parse(extended!.createdAt);
      expect(Date.parse(extended!.expiresAt)).toBe(created + 3_600_000);
      expect(await ctx.redis.zscore(ctx.keys.expiry(sku), `${id}|1|u1`)).toBe(String(created + 3_600_000));
      const shorter = await ctx.engine.extend(id, 60);
      expect(Date.parse(shorter!.expiresAt)).toBeLessThan(created + 3_600_000);
      // A shortened hold is filed for the sweep at its new, earlier expiry.
      expect(Number(await ctx.redis.zscore(ctx.keys.sweepDue(ctx.keys.partitionOfSku(sku)), sku))).toBeLessThanOrEqual(Date.parse(shorter!.expiresAt));
    });

    it('unknown reservations read as null (the HTTP layer then asks Postgres)', async () => {
      expect(await ctx.engine.commit('unknown-id')).toBeNull();
      expect(await ctx.engine.release('unknown-id')).toBeNull();
      expect(await ctx.engine.extend('unknown-id', 10)).toBeNull();
      expect(await ctx.engine.getReservation('unknown-id')).toBeNull();
    });
  });

  describe('set and adjust stock', () => {
    it('creates, updates, and refuses a total below reserved + sold', async () => {
      const sku = uniqueName('sku-');
      const settings = { perUserLimit: null, startsAt: null, endsAt: null };
      expect((await ctx.engine.setStock(sku, { total: 5, ...settings }, 't')).created).toBe(true);
      const id = (await ctx.engine.reserve(command([{ sku, qty: 3 }]))) as { kind: 'created'; reservation: { id: string } };
      await ctx.engine.commit(id.reservation.id);
      const update = await ctx.engine.setStock(sku, { total: 8, ...settings }, 't');
      expect(update.created).toBe(false);
      expect(update.view).toMatchObject({ total: 8, available: 5, reserved: 0, sold: 3 });
      const error = await refusalOf(ctx.engine.setStock(sku, { total: 2, ...settings }, 't'));
      expect(error.code).toBe('TOTAL_BELOW_COMMITTED');
      expect(await rawCounters(ctx, sku)).toEqual({ total: 8, available: 5, reserved: 0, sold: 3 });
    });

    it('adjusts total and available together and never below zero available', async () => {
      const sku = await newSku(5);
      await ctx.engine.reserve(command([{ sku, qty: 4 }]));
      expect(await ctx.engine.adjustStock(sku, 3, 'restock', 't')).toMatchObject({ total: 8, available: 4, reserved: 4 });
      const error = await refusalOf(ctx.engine.adjustStock(sku, -5, 'damaged', 't'));
      expect(error.code).toBe('INSUFFICIENT_STOCK');
      expect((await refusalOf(ctx.engine.adjustStock(uniqueName('nope-'), 1, 'x', 't'))).code).toBe('SKU_NOT_FOUND');
      // total never grows past what Postgres can record
      expect((await refusalOf(ctx.engine.adjustStock(sku, 1_000_000_000, 'x', 't'))).code).toBe('VALIDATION_FAILED');
      expect(conserved(await rawCounters(ctx, sku))).toBe(true);
    });
  });

  describe('sweep_expired', () => {
    it('returns expired holds once, re-files the SKU under its next expiry, drops it when empty', async () => {
      const sku = await newSku(10);
      const ids: string[] = [];
      for (let n = 0; n < 3; n++) {
        const out = await ctx.engine.reserve(command([{ sku, qty: 2 }], { userId: `u${n}` }));
        if (out.kind === 'created') ids.push(out.reservation.id);
      }
      await ctx.redis.zadd(ctx.keys.expiry(sku), 5, `${ids[0]}|2|u0`, 6, `${ids[1]}|2|u1`);
      const first = await ctx.maintenance.sweepSku(sku, 1);
      expect(first).toMatchObject({ holds: 1, units: 2, nextExpiryMs: 6 });
      const second = await ctx.maintenance.sweepSku(sku, 100);
      expect(second.holds).toBe(1);
      expect(second.nextExpiryMs).toBeGreaterThan(Date.now());
      expect(await ctx.maintenance.sweepSku(sku, 100)).toMatchObject({ holds: 0, units: 0 });
      expect(await rawCounters(ctx, sku)).toEqual({ total: 10, available: 8, reserved: 2, sold: 0 });
      await ctx.engine.release(ids[2]);
      expect((await ctx.maintenance.sweepSku(sku, 100)).nextExpiryMs).toBeNull();
      expect(await ctx.redis.zscore(ctx.keys.sweepDue(ctx.keys.partitionOfSku(sku)), sku)).toBeNull();
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEntry } from '../../src/redis/outboxEntry';
import { type ReservationRecord, decodeReservationRecord, decodeReserveEvent, encodeReservationRecord } from '../../src/redis/reservationRecord';
import type { ReserveCommand } from '../../src/redis/stockEngine';
import { REDIS_TARGETS, type TestContext, conserved, createTestContext, rawCounters, readRecord, skuIn, uniqueName, userIn } from '../support/context';

const pending: ReservationRecord = {
  status: 'PENDING',
  createdAtMs: 1_790_000_000_000,
  expiresAtMs: 1_790_000_900_000,
  finishedAt: '',
  userId: 'u-1',
  orderId: 'o-1',
  lines: [['tv-55', 2, 2, null], ['hdmi', 3, 1, null]],
};

describe('reservation record text', () => {
  it('stores the lifetime, not a second timestamp, and reads back what it wrote', () => {
    const text = encodeReservationRecord(pending);
    expect(text).toBe('P|1790000000000|900000||u-1|o-1|tv-55|2|2,hdmi|3|1');
    expect(decodeReservationRecord(text)).toEqual(pending);
  });

  it('keeps where the units of a line are held when its SKU has locations', () => {
    const located: ReservationRecord = { ...pending, lines: [['tv-55', 3, 3, [{ location: 'berlin', reserved: 1 }, { location: 'paris', reserved: 2 }]], ['hdmi', 3, 0, null]] };
    const text = encodeReservationRecord(located);
    expect(text).toBe('P|1790000000000|900000||u-1|o-1|tv-55|3|3@berlin=1;paris=2,hdmi|3|0');
    expect(decodeReservationRecord(text)).toEqual(located);
  });

  it('refuses a status letter it does not know', () => {
    expect(() => decodeReservationRecord('X|1790000000000|900000||u-1|o-1|tv-55|2|2')).toThrow(/unknown reservation status letter "X"/);
  });

  it('reads a RESERVE outbox event: the id, then the record', () => {
    expect(decodeReserveEvent(`Ab_3-${encodeReservationRecord(pending)}`.replace('-P', '|P'))).toEqual({ id: 'Ab_3', record: pending });
  });
});

describe.each(REDIS_TARGETS)('reserve script, one batch of mixed requests, on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  it('decides interleaved SKUs and idempotency keys in order, as if each request ran alone', async () => {
    // One partition for the SKUs (a reservation over several cannot be held yet) and the keyed users
    // (a key in another partition is claimed before the batch, partitions.test.ts): one script call.
    const a = uniqueName('sku-');
    const partition = ctx.keys.partitionOfSku(a);
    const b = skuIn(ctx, partition);
    const [u1, u3, u4] = [userIn(ctx, partition, 'u1-'), userIn(ctx, partition, 'u3-'), userIn(ctx, partition, 'u4-')];
    for (const sku of [a, b]) await ctx.engine.setStock(sku, { total: 3, perUserLimit: null, startsAt: null, endsAt: null }, 'test');
    const request = (userId: string, lines: ReserveCommand['lines'], key?: string): ReserveCommand => ({
     
      userId,
      orderId: `o-${userId}`,
      lines,
      ttlSeconds: 900,
      allowPartial: false,
      idempotency: key ? { keyHash: key, bodyDigest: `f-${userId}` } : undefined,
    });
    // Started in one turn, so the engine folds them into one script call.
    const outcomes = await Promise.allSettled([
      ctx.engine.reserve(request(u1, [{ sku: a, qty: 2 }], 'k1')),
      ctx.engine.reserve(request('u2', [{ sku: b, qty: 1 }, { sku: a, qty: 1 }])),
      ctx.engine.reserve(request(u3, [{ sku: a, qty: 1 }], 'k3')),
      ctx.engine.reserve(request(u4, [{ sku: b, qty: 2 }], 'k4')),
      ctx.engine.reserve(request(u1, [{ sku: a, qty: 2 }], 'k1')),
    ]);
    const [first, second, third, fourth, replay] = outcomes;
    expect(first.status === 'fulfilled' && first.value.kind).toBe('created');
    expect(second.status === 'fulfilled' && second.value.kind).toBe('created');
    expect(third.status === 'rejected' && (third.reason as { code: string }).code).toBe('INSUFFICIENT_STOCK');
    expect(fourth.status === 'fulfilled' && fourth.value.kind).toBe('created');
    const created = first.status === 'fulfilled' && first.value.kind === 'created' ? first.value.reservation : null;
    expect(replay.status === 'fulfilled' && replay.value).toEqual({ kind: 'replayed', reservationId: created?.id });
    expect(await rawCounters(ctx, a)).toEqual({ total: 3, available: 0, reserved: 3, sold: 0 });
    expect(await rawCounters(ctx, b)).toEqual({ total: 3, available: 0, reserved: 3, sold: 0 });
    expect(conserved(await rawCounters(ctx, a)) && conserved(await rawCounters(ctx, b))).toBe(true);
    expect((await readRecord(ctx, created!.id))?.lines).toBe(`${a}|2|2`);
    // The batch's one outbox entry carries the three holds, in request order.
    const [[entryId, fields]] = (await ctx.redis.xrevrange(ctx.keys.outbox(partition), '+', '-', 'COUNT', 1)) as [string, string[]][];
    const reserves = parseEntry(entryId, fields[1]).events.filter((event) => event.type === 'RESERVE');
    expect(reserves.map((event) => event.type === 'RESERVE' && [event.userId, event.items])).toEqual([
      [u1, [[a, 2, 2, null]]],
      ['u2', [[b, 1, 1, null], [a, 1, 1, null]]],
      [u4, [[b, 2, 2, null]]],
    ]);
  });

  it('keeps a short pending record within one small allocation (Redis embstr, up to 44 bytes)', async () => {
    const sku = uniqueName('');
    await ctx.engine.setStock(sku, { total: 10, perUserLimit: null, startsAt: null, endsAt: null }, 'test');
    const out = await ctx.engine.reserve({ userId: 'u1', orderId: 'o1', lines: [{ sku, qty: 1 }], ttlSeconds: 900, allowPartial: false });
    if (out.kind !== 'created') throw new Error('expected a reservation');
    expect(await ctx.redis.object('ENCODING', ctx.keys.reservation(out.reservation.id))).toBe('embstr');
  });
});

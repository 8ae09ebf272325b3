/**
 * Stock locations: setting and adjusting them, where the reserve scripts take a line's units, and
 * how every way a hold ends puts them back where they were taken. Counters are read straight from
 * the stock hash in the layout lua/includes/locations.lua states.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors';
import type { ReserveCommand } from '../../src/redis/stockEngine';
import { REDIS_TARGETS, type TestContext, createTestContext, rawCounters, skuIn } from '../support/context';

const COUNTERS = ['total', 'available', 'reserved', 'sold'] as const;

describe.each(REDIS_TARGETS)('locations of a SKU on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  const settings = (totals: Record<string, number>) => ({
    total: 0,
    locations: Object.entries(totals).map(([location, total]) => ({ location, total })),
    perUserLimit: null,
    startsAt: null,
    endsAt: null,
  });

  /** A SKU whose units sit in the given locations (priority order). */
  async function locatedSku(totals: Record<string, number>, sku = skuIn(ctx, 0)): Promise<string> {
    await ctx.engine.setStock(sku, settings(totals), 'test');
    return sku;
  }

  /** Every location's counters, active and retired, as the stock hash holds them. */
  async function perLocation(sku: string): Promise<Record<string, Record<(typeof COUNTERS)[number], number>>> {
    const hash = await ctx.redis.hgetall(ctx.keys.stock(sku));
    const result: Record<string, Record<(typeof COUNTERS)[number], number>> = {};
    for (const location of hash.locations.split(/[,/]/).filter(Boolean)) {
      result[location] = Object.fromEntries(COUNTERS.map((counter) => [counter, Number(hash[`${location}|${counter}`])])) as Record<(typeof COUNTERS)[number], number>;
    }
    return result;
  }

  /** Conservation in every location, none negative, and the SKU's counters their sums. */
  async function expectConserved(sku: string) {
    const locations = await perLocation(sku);
    const sums = { total: 0, available: 0, reserved: 0, sold: 0 };
    for (const [location, c] of Object.entries(locations)) {
      expect(c.available + c.reserved + c.sold, location).toBe(c.total);
      for (const counter of COUNTERS) {
        expect(c[counter], `${location} ${counter}`).toBeGreaterThanOrEqual(0);
        sums[counter] += c[counter];
      }
    }
    expect(await rawCounters(ctx, sku)).toEqual(sums);
  }

  function reserve(lines: ReserveCommand['lines'], extra: Partial<ReserveCommand> = {}) {
    return ctx.engine.reserve({ userId: 'u1', orderId: null, lines, ttlSeconds: 900, allowPartial: false, ...extra });
  }

  async function refusalOf(promise: Promise<unknown>): Promise<DomainError> {
    return promise.then(
      () => {
        throw new Error('expected a refusal');
      },
      (error: DomainError) => error,
    );
  }

  async function created(promise: ReturnType<typeof reserve>) {
    const outcome = await promise;
    if (outcome.kind !== 'created') throw new Error('expected a new reservation');
    return outcome.reservation;
  }

  it('takes a line from the first location holding all of it, else spreads it in priority order', async () => {
    const sku = await locatedSku({ berlin: 2, paris: 3, rome: 5 });
    const whole = await created(reserve([{ sku, qty: 3 }]));
    expect(whole.items[0].allocations).toEqual([{ location: 'paris', reserved: 3 }]);
    const later = await created(reserve([{ sku, qty: 4 }]));
    expect(later.items[0].allocations).toEqual([{ location: 'rome', reserved: 4 }]);
    const spread = await created(reserve([{ sku, qty: 3 }]));
    expect(spread.items[0].allocations).toEqual([{ location: 'berlin', reserved: 2 }, { location: 'rome', reserved: 1 }]);
    expect(await perLocation(sku)).toEqual({
      berlin: { total: 2, available: 0, reserved: 2, sold: 0 },
      paris: { total: 3, available: 0, reserved: 3, sold: 0 },
      rome: { total: 5, available: 0, reserved: 5, sold: 0 },
    });
    await expectConserved(sku);
    // The record keeps the allocations: a read answers them too.
    expect((await ctx.engine.getReservation(spread.id))?.items[0].allocations).toEqual(spread.items[0].allocations);
  });

  it('a line naming a location takes only from it; an unknown location is refused and nothing is held', async () => {
    const sku = await locatedSku({ berlin: 2, paris: 3 });
    const named = await created(reserve([{ sku, qty: 2, location: 'paris' }, { sku, qty: 1 }]));
    expect(named.items.map((line) => line.allocations)).toEqual([[{ location: 'paris', reserved: 2 }], [{ location: 'berlin', reserved: 1 }]]);
    const short = await reserve([{ sku, qty: 2, location: 'paris' }]).then(() => null, (e: DomainError) => e);
    expect(short?.code).toBe('INSUFFICIENT_STOCK');
    expect(short?.details).toEqual({ items: [{ sku, location: 'paris', requested: 2, available: 1 }] });
    const unknown = await reserve([{ sku, qty: 1 }, { sku, qty: 1, location: 'madrid' }]).then(() => null, (e: DomainError) => e);
    expect(unknown?.code).toBe('LOCATION_NOT_FOUND');
    expect(await perLocation(sku)).toEqual({ berlin: { total: 2, available: 1, reserved: 1, sold: 0 }, paris: { total: 3, available: 1, reserved: 2, sold: 0 } });
    // Both lines of the SKU end together: their units go back where each was taken.
    await ctx.engine.release(named.id);
    expect(await perLocation(sku)).toEqual({ berlin: { total: 2, available: 2, reserved: 0, sold: 0 }, paris: { total: 3, available: 3, reserved: 0, sold: 0 } });
    await expectConserved(sku);
  });

  it('commit sells, release and expiry return exactly the units held in each location', async () => {
    const sku = await locatedSku({ berlin: 2, paris: 3 });
    const sold = await created(reserve([{ sku, qty: 4 }]));
    await ctx.engine.commit(sold.id);
    const expiring = await created(reserve([{ sku, qty: 1 }], { ttlSeconds: 1 }));
    expect(expiring.items[0].allocations).toEqual([{ location: 'paris', reserved: 1 }]);
    expect(await perLocation(sku)).toEqual({ berlin: { total: 2, available: 0, reserved: 0, sold: 2 }, paris: { total: 3, available: 0, reserved: 1, sold: 2 } });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await ctx.maintenance.sweepSku(sku, 100)).units).toBe(1);
    expect(await perLocation(sku)).toEqual({ berlin: { total: 2, available: 0, reserved: 0, sold: 2 }, paris: { total: 3, available: 1, reserved: 0, sold: 2 } });
    await expectConserved(sku);
  });

  it('under contention a spread line never holds more than a location has', async () => {
    const sku = await locatedSku({ berlin: 1, paris: 2, rome: 2 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 60 }, (_, n) => reserve([{ sku, qty: 1 + (n % 3) }], { userId: `u${n}`, allowPartial: n % 2 === 0 })),
    );
    const held = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' && outcome.value.kind === 'created' ? outcome.value.reservation.items : []));
    const byLocation = new Map<string, number>();
    for (const line of held) for (const { location, reserved } of line.allocations) byLocation.set(location, (byLocation.get(location) ?? 0) + reserved);
    expect(Object.fromEntries(byLocation)).toEqual({ berlin: 1, paris: 2, rome: 2 });
    for (const outcome of outcomes) if (outcome.status === 'rejected') expect((outcome.reason as DomainError).code).toBe('INSUFFICIENT_STOCK');
    await expectConserved(sku);
  });

  it('PUT with locations: the view lists them, a location left out keeps what it holds and takes no new holds', async () => {
    const sku = await locatedSku({ berlin: 2, paris: 3 });
    const held = await created(reserve([{ sku, qty: 2, location: 'berlin' }]));
    const { view } = await ctx.engine.setStock(sku, settings({ paris: 5, rome: 4 }), 'test');
    expect(view).toMatchObject({ total: 11, available: 9, reserved: 2, sold: 0 });
    expect(view.locations).toEqual([
      { location: 'paris', active: true, total: 5, available: 5, reserved: 0, sold: 0 },
      { location: 'rome', active: true, total: 4, available: 4, reserved: 0, sold: 0 },
      { location: 'berlin', active: false, total: 2, available: 0, reserved: 2, sold: 0 },
    ]);
    expect((await ctx.engine.getSku(sku))?.locations).toEqual(view.locations);
    expect((await refusalOf(reserve([{ sku, qty: 1, location: 'berlin' }]))).code).toBe('LOCATION_NOT_FOUND');
    await ctx.engine.commit(held.id);
    expect((await perLocation(sku)).berlin).toEqual({ total: 2, available: 0, reserved: 0, sold: 2 });
    // Listed again, it takes holds again with what it had.
    const again = await ctx.engine.setStock(sku, settings({ berlin: 3, paris: 5 }), 'test');
    expect(again.view.locations.map(({ location, active }) => [location, active])).toEqual([['berlin', true], ['paris', true]]);
    expect((await perLocation(sku)).berlin).toEqual({ total: 3, available: 1, reserved: 0, sold: 2 });
    expect(await perLocation(sku)).not.toHaveProperty('rome');
    await expectConserved(sku);
  });

  it('a location total below what it holds and sold is refused, naming the location; nothing changes', async () => {
    const sku = await locatedSku({ berlin: 2, paris: 3 });
    await created(reserve([{ sku, qty: 2, location: 'paris' }]));
    const before = await ctx.redis.hgetall(ctx.keys.stock(sku));
    const refused = await refusalOf(ctx.engine.setStock(sku, settings({ berlin: 9, paris: 1 }), 'test'));
    expect(refused.code).toBe('TOTAL_BELOW_COMMITTED');
    expect(refused.details).toEqual({ location: 'paris', requestedTotal: 1, reserved: 2, sold: 0 });
    expect(await ctx.redis.hgetall(ctx.keys.stock(sku))).toEqual(before);
  });

  it('a SKU with a plain total moves into locations with its holds, and a plain total makes "default" its one location', async () => {
    const sku = skuIn(ctx, 0);
    await ctx.engine.setStock(sku, { total: 5, perUserLimit: null, startsAt: null, endsAt: null }, 'test');
    const before = await created(reserve([{ sku, qty: 2 }]));
    expect(before.items[0].allocations).toEqual([{ location: 'default', reserved: 2 }]);
    await locatedSku({ berlin: 4 }, sku);
    expect(await perLocation(sku)).toEqual({ berlin: { total: 4, available: 4, reserved: 0, sold: 0 }, default: { total: 2, available: 0, reserved: 2, sold: 0 } });
    await ctx.engine.commit(before.id);
    expect((await perLocation(sku)).default).toEqual({ total: 2, available: 0, reserved: 0, sold: 2 });
    const { view } = await ctx.engine.setStock(sku, { total: 10, perUserLimit: null, startsAt: null, endsAt: null }, 'test');
    expect(view).toMatchObject({ total: 10, available: 8, reserved: 0, sold: 2 });
    expect(view.locations).toEqual([{ location: 'default', active: true, total: 10, available: 8, reserved: 0, sold: 2 }]);
    await expectConserved(sku);
  });

  it('adjust acts on the named location, on the only one without a name, and refuses an unknown or missing one', async () => {
    const sku = await locatedSku({ berlin: 2, paris: 3 });
    const view = await ctx.engine.adjustStock(sku, 4, 'restock', 'test', 'paris');
    expect(view.locations.find((level) => level.location === 'paris')).toMatchObject({ total: 7, available: 7 });
    expect(view.total).toBe(9);
    expect((await refusalOf(ctx.engine.adjustStock(sku, 1, 'restock', 'test'))).code).toBe('VALIDATION_FAILED');
    expect((await refusalOf(ctx.engine.adjustStock(sku, 1, 'restock', 'test', 'madrid'))).code).toBe('LOCATION_NOT_FOUND');
    const short = await refusalOf(ctx.engine.adjustStock(sku, -3, 'damaged', 'test', 'berlin'));
    expect(short.code).toBe('INSUFFICIENT_STOCK');
    await ctx.engine.setStock(sku, settings({ paris: 7 }), 'test');
    expect((await ctx.engine.adjustStock(sku, -1, 'damaged', 'test')).locations).toEqual([{ location: 'paris', active: true, total: 6, available: 6, reserved: 0, sold: 0 }]);
    await expectConserved(sku);
  });
});

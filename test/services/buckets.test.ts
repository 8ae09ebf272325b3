/**
 * A SKU split into buckets (API.md, "Hot SKUs beyond one Redis shard"; src/domain/buckets.ts), on
 * one Redis and on the cluster, over four partitions: its units spread over partitions with the
 * view showing sums; reserves spread over the buckets by turn (by user under a per-user limit),
 * refilled from the others when short; drained to the last unit by many concurrent clients, every unit sold and every refusal
 * checked against the units left; per-user limits, Idempotency-Keys, allowPartial, reservations
 * spanning partitions, commit and release; the PUT and PATCH rules; the reconciler agreeing bucket
 * by bucket, and a rebuild after Redis lost everything. Seeded; replay with BUCKETS_SEED=<seed>.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../chaos/lib/random';
import { queryRows } from '../../src/db/client';
import { bucketSkus } from '../../src/domain/buckets';
import { REDIS_TARGETS, type TestContext, adminHeaders, conserved, createTestContext, rawCounters, skuIn } from '../support/context';

const PARTITIONS = 4;
const seed = Number(process.env.BUCKETS_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe.each(REDIS_TARGETS)('a SKU split into buckets on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis, env: { REDIS_PARTITIONS: String(PARTITIONS), WEBHOOK_ALLOW_PRIVATE: 'on' } });
  });
  afterAll(() => ctx?.close());

  const inject = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    ctx.app.inject({ method, url, payload: payload as never, headers });
  const put = (sku: string, body: Record<string, unknown>) => inject('PUT', `/v1/admin/skus/${sku}`, body, adminHeaders);
  const reserve = (sku: string, userId: string, qty: number, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    inject('POST', '/v1/reservations', { userId, items: [{ sku, qty }], ...extra }, headers);
  const view = async (sku: string) => (await inject('GET', `/v1/skus/${sku}`)).json();
  /** Each bucket's raw counters, every one conserved. */
  async function bucketCounters(sku: string, buckets: number) {
    const levels = await Promise.all(bucketSkus(sku, buckets).map((name) => rawCounters(ctx, name)));
    for (const level of levels) expect(conserved(level), JSON.stringify(levels)).toBe(true);
    return levels;
  }
  /** Each bucket's counters per location, each conserved, and adding up to the bucket's own. */
  async function locationCounters(sku: string, buckets: number) {
    return Promise.all(
      bucketSkus(sku, buckets).map(async (name) => {
        const hash = await ctx.redis.hgetall(ctx.keys.stock(name));
        const [active, retired = ''] = hash.locations.split('/');
        const names = [...active.split(','), ...retired.split(',').filter(Boolean)];
        const levels = Object.fromEntries(names.map((location) => [location, Object.fromEntries(['total', 'available', 'reserved', 'sold'].map((field) => [field, Number(hash[`${location}|${field}`])]))]));
        for (const level of Object.values(levels)) expect(conserved(level as never), JSON.stringify(levels)).toBe(true);
        for (const field of ['total', 'available', 'reserved', 'sold']) {
          expect(Object.values(levels).reduce((sum, level) => sum + (level as Record<string, number>)[field], 0), `${name} ${field}`).toBe(Number(hash[field]));
        }
        return levels as Record<string, { total: number; available: number; reserved: number; sold: number }>;
      }),
    );
  }
  const pass = async () => {
    const report = await ctx.reconciler.run('api');
    expect(report.error).toBeUndefined();
    expect(report.drift).toEqual([]);
  };

  it('splits the units over as many partitions as buckets; the view shows the sums', async () => {
    const sku = skuIn(ctx, 1, 'split-');
    const created = await put(sku, { total: 102, buckets: 4 });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ sku, total: 102, available: 102, reserved: 0, sold: 0, buckets: 4 });
    const names = bucketSkus(sku, 4);
    expect(names.map((name) => ctx.keys.partitionOfSku(name))).toEqual([1, 2, 3, 0]);
    expect((await bucketCounters(sku, 4)).map((level) => level.total)).toEqual([26, 26, 25, 25]);
    expect(await view(sku)).toMatchObject({ total: 102, available: 102, buckets: 4, locations: [{ location: 'default', total: 102 }] });
    // The buckets are no SKUs of their own for a client.
    expect((await inject('GET', `/v1/skus/${names[1]}`)).statusCode).toBe(400);
    const listed = (await inject('GET', `/v1/admin/skus?q=${sku}`, undefined, adminHeaders)).json();
    expect(listed.items.map((item: { sku: string }) => item.sku)).toEqual([sku]);
    await pass();
  });

  it('reserves in the user\'s bucket, refilled from the others; commit, release and the reservation read as the SKU', async () => {
    const sku = skuIn(ctx, 0, 'split-');
    expect((await put(sku, { total: 8, buckets: 4 })).statusCode).toBe(201);
    // One user takes more than a bucket holds: units move to the user's bucket.
    const held = await reserve(sku, 'big-buyer', 5);
    expect(held.statusCode, held.body).toBe(201);
    expect(held.json().items).toEqual([{ sku, qty: 5, reserved: 5, backordered: 0, status: 'RESERVED', allocations: [{ location: 'default', reserved: 5 }] }]);
    expect(await view(sku)).toMatchObject({ total: 8, available: 3, reserved: 5, sold: 0 });
    const id = held.json().id;
    expect((await inject('GET', `/v1/reservations/${id}`)).json().items[0].sku).toBe(sku);
    expect((await inject('POST', `/v1/reservations/${id}/commit`)).json().status).toBe('COMMITTED');
    const other = await reserve(sku, 'second', 3);
    expect(other.statusCode, other.body).toBe(201);
    expect((await reserve(sku, 'third', 1)).statusCode).toBe(409);
    expect((await inject('POST', `/v1/reservations/${other.json().id}/release`)).json().status).toBe('RELEASED');
    expect(await view(sku)).toMatchObject({ total: 8, available: 3, reserved: 0, sold: 5 });
    await bucketCounters(sku, 4);
    await pass();
  });

  it('without a per-user limit a turn\'s reserves share a bucket and the turns take the buckets in turn; a limit keeps each user in one bucket', async () => {
    const sku = skuIn(ctx, 3, 'turns-');
    expect((await put(sku, { total: 400, buckets: 4 })).statusCode).toBe(201);
    // The engine learns the SKU is split, and unlimited, from its first reply.
    expect((await reserve(sku, 'first', 1)).statusCode).toBe(201);
    const reservedIn = async () => (await bucketCounters(sku, 4)).map((level) => level.reserved);
    // Reserves sent together are read in one event-loop turn: they go out as one script call to
    // one bucket. Spread by user, 24 users would fall in all 4.
    const before = await reservedIn();
    const burst = await Promise.all(Array.from({ length: 24 }, (_, n) => reserve(sku, `burst-${n}`, 1)));
    expect(burst.map((answer) => answer.statusCode)).toEqual(Array(24).fill(201));
    const grew = (await reservedIn()).filter((units, bucket) => units > before[bucket]);
    expect(grew.length, `buckets the burst went to: ${grew.length}`).toBeLessThanOrEqual(2);
    // One user's reserves, one after another, go wherever the turn's draw says: every bucket takes some.
    for (let n = 0; n < 8; n++) expect((await reserve(sku, 'steady', 1)).statusCode).toBe(201);
    expect((await reservedIn()).every((units) => units > 0)).toBe(true);
    // Once sold from, a split SKU takes no per-user limit: no one bucket knows what a user bought.
    const limited = await inject('PATCH', `/v1/admin/skus/${sku}`, { perUserLimit: 10 }, adminHeaders);
    expect(limited.statusCode, limited.body).toBe(400);
    expect(limited.json().error.code).toBe('VALIDATION_FAILED');
    // A split SKU with a limit from the start keeps every reserve of a user in the user's bucket.
    const capped = skuIn(ctx, 2, 'capped-');
    expect((await put(capped, { total: 400, buckets: 4, perUserLimit: 50 })).statusCode).toBe(201);
    for (let n = 0; n < 8; n++) expect((await reserve(capped, 'loyal', 1)).statusCode).toBe(201);
    const cappedLevels = await bucketCounters(capped, 4);
    expect(cappedLevels.filter((level) => level.reserved > 0).map((level) => level.reserved)).toEqual([8]);
    await pass();
  });

  // With 8 buckets a reserve short in its bucket stops hopping after three and counts them all.
  it.each([4, 8])(`drained to the last unit by many clients at once, %i buckets: every unit sold, no refusal while units were left (seed ${seed})`, async (buckets) => {
    const random = new Random(seed + (redis === 'cluster' ? 1 : 0) + buckets);
    const sku = skuIn(ctx, 2, 'drain-');
    const total = 60;
    expect((await put(sku, { total, buckets })).statusCode).toBe(201);
    const asks = Array.from({ length: 90 }, (_, n) => ({ userId: `buyer-${n}`, qty: random.int(1, 3) }));
    const answers = await Promise.all(asks.map(({ userId, qty }) => reserve(sku, userId, qty)));
    let held = 0;
    const refused: number[] = [];
    for (const [n, answer] of answers.entries()) {
      if (answer.statusCode === 201) held += asks[n].qty;
      else {
        expect(answer.statusCode, answer.body).toBe(409);
        expect(answer.json().error.code).toBe('INSUFFICIENT_STOCK');
        refused.push(asks[n].qty);
      }
    }
    const left = total - held;
    expect((await view(sku)).available).toBe(left);
    // Units only went out: a refusal of q units means fewer than q were left then, so fewer now.
    for (const qty of refused) expect(qty, `a refusal of ${qty} with ${left} left (seed ${seed})`).toBeGreaterThan(left);
    expect(left).toBeLessThan(3);
    await bucketCounters(sku, buckets);
    await pass();
  });

  it(`a SKU with locations, drained by many clients at once naming a location or none: every refusal checked against the units left there (seed ${seed})`, async () => {
    const random = new Random(seed + (redis === 'cluster' ? 11 : 10));
    const sku = skuIn(ctx, 2, 'located-drain-');
    const totals = { berlin: 30, paris: 24 };
    expect((await put(sku, { locations: Object.entries(totals).map(([location, total]) => ({ location, total })), buckets: 4 })).statusCode).toBe(201);
    const asks = Array.from({ length: 90 }, (_, n) => ({ userId: `buyer-${n}`, qty: random.int(1, 3), location: random.pick(['berlin', 'paris', undefined]) }));
    const answers = await Promise.all(asks.map(({ userId, qty, location }) => inject('POST', '/v1/reservations', { userId, items: [{ sku, qty, ...(location ? { location } : {}) }] })));
    const held = { berlin: 0, paris: 0 };
    const refused: { qty: number; location?: string }[] = [];
    for (const [n, answer] of answers.entries()) {
      if (answer.statusCode !== 201) {
        expect(answer.statusCode, answer.body).toBe(409);
        expect(answer.json().error.code).toBe('INSUFFICIENT_STOCK');
        refused.push(asks[n]);
        continue;
      }
      const allocations = answer.json().items[0].allocations as { location: 'berlin' | 'paris'; reserved: number }[];
      if (asks[n].location) expect(allocations.map((allocation) => allocation.location)).toEqual([asks[n].location]);
      for (const { location, reserved } of allocations) held[location] += reserved;
    }
    const left = { berlin: totals.berlin - held.berlin, paris: totals.paris - held.paris };
    const after = await view(sku);
    expect(after.locations.map((level: { location: string; available: number }) => [level.location, level.available])).toEqual([['berlin', left.berlin], ['paris', left.paris]]);
    // Units only went out: a refusal means fewer were left where the line asked, then and now.
    for (const { qty, location } of refused) {
      const there = location === undefined ? left.berlin + left.paris : left[location as 'berlin' | 'paris'];
      expect(qty, `a refusal of ${qty} at ${location ?? 'any location'} with ${there} left (seed ${seed})`).toBeGreaterThan(there);
    }
    await locationCounters(sku, 4);
    await pass();
  });

  it('locations: each one split over the buckets, units held where a line asks, moved only within their location, adjusted and retired per location', async () => {
    const sku = skuIn(ctx, 1, 'located-');
    const hook = await inject('PUT', `/v1/admin/webhooks/${sku}`, { url: 'http://127.0.0.1:9/hook', events: ['stock.changed'], secret: 'a-secret-of-sixteen+' }, adminHeaders);
    expect(hook.statusCode, hook.body).toBe(201);
    const created = await put(sku, { locations: [{ location: 'berlin', total: 7 }, { location: 'paris', total: 5 }], buckets: 3 });
    expect(created.statusCode, created.body).toBe(201);
    expect((await locationCounters(sku, 3)).map((bucket) => [bucket.berlin.total, bucket.paris.total])).toEqual([[3, 2], [2, 2], [2, 1]]);
    expect(await view(sku)).toMatchObject({ total: 12, buckets: 3, locations: [{ location: 'berlin', total: 7, available: 7 }, { location: 'paris', total: 5, available: 5 }] });
    // More of a location than any bucket holds: its units come from the others, and only its own.
    const paris = await inject('POST', '/v1/reservations', { userId: 'p', items: [{ sku, qty: 5, location: 'paris' }] });
    expect(paris.statusCode, paris.body).toBe(201);
    expect(paris.json().items[0].allocations).toEqual([{ location: 'paris', reserved: 5 }]);
    const none = await inject('POST', '/v1/reservations', { userId: 'q', items: [{ sku, qty: 1, location: 'paris' }] });
    expect(none.statusCode).toBe(409);
    expect(none.json().error).toMatchObject({ code: 'INSUFFICIENT_STOCK', details: { items: [{ sku, location: 'paris', requested: 1, available: 0 }] } });
    // A line naming no location takes the first location, in priority order, that holds it all.
    const any = await reserve(sku, 'r', 7);
    expect(any.statusCode, any.body).toBe(201);
    expect(any.json().items[0].allocations).toEqual([{ location: 'berlin', reserved: 7 }]);
    expect((await reserve(sku, 's', 1)).statusCode).toBe(409);
    expect((await inject('POST', `/v1/reservations/${paris.json().id}/release`)).json().status).toBe('RELEASED');
    // An adjust names its location, and takes that location's units from the buckets holding them.
    const adjusted = await inject('POST', `/v1/admin/skus/${sku}/adjust`, { delta: -4, reason: 'damaged', location: 'paris' }, adminHeaders);
    expect(adjusted.statusCode, adjusted.body).toBe(200);
    expect((await inject('POST', `/v1/admin/skus/${sku}/adjust`, { delta: -2, reason: 'damaged', location: 'paris' }, adminHeaders)).json().error.code).toBe('INSUFFICIENT_STOCK');
    expect((await inject('POST', `/v1/admin/skus/${sku}/adjust`, { delta: 3, reason: 'found', location: 'paris' }, adminHeaders)).statusCode).toBe(200);
    expect((await view(sku)).locations).toMatchObject([{ location: 'berlin', total: 7, reserved: 7 }, { location: 'paris', total: 4, available: 4 }]);
    // Berlin left out: it keeps its held units, takes no holds; its units sold stay with it.
    const retired = await inject('PATCH', `/v1/admin/skus/${sku}`, { locations: [{ location: 'paris', total: 6 }, { location: 'lyon', total: 2 }] }, adminHeaders);
    expect(retired.statusCode, retired.body).toBe(200);
    const atRetired = await inject('POST', '/v1/reservations', { userId: 't', items: [{ sku, qty: 1, location: 'berlin' }] });
    expect(atRetired.statusCode, atRetired.body).toBe(404);
    expect(atRetired.json().error).toMatchObject({ code: 'LOCATION_NOT_FOUND', details: { sku, location: 'berlin' } });
    expect((await inject('POST', `/v1/reservations/${any.json().id}/commit`)).json().status).toBe('COMMITTED');
    const lyon = await inject('POST', '/v1/reservations', { userId: 'u', items: [{ sku, qty: 2, location: 'lyon' }] });
    expect(lyon.statusCode, lyon.body).toBe(201);
    expect(await view(sku)).toMatchObject({
      total: 15,
      available: 6,
      reserved: 2,
      sold: 7,
      locations: [
        { location: 'paris', active: true, total: 6, available: 6 },
        { location: 'lyon', active: true, total: 2, reserved: 2 },
        { location: 'berlin', active: false, total: 7, sold: 7 },
      ],
    });
    const short = await inject('PATCH', `/v1/admin/skus/${sku}`, { locations: [{ location: 'paris', total: 6 }, { location: 'lyon', total: 1 }] }, adminHeaders);
    expect(short.json().error).toMatchObject({ code: 'TOTAL_BELOW_COMMITTED', details: { location: 'lyon', requestedTotal: 1, reserved: 2 } });
    await locationCounters(sku, 3);
    await pass();
    // Webhooks tell of the SKU with its buckets summed, location by location.
    const [told] = await queryRows<{ subject: string; data: { total: number; locations: { location: string; total: number; sold: number }[] } }>(
      ctx.db,
      sql`select subject, data from webhook_events where subject like ${`${sku}%`} and type = 'stock.changed' order by created_at desc, id desc limit 1`,
    );
    expect(told.subject).toBe(sku);
    expect(told.data).toMatchObject({ total: 15, locations: [{ location: 'paris', total: 6 }, { location: 'lyon', total: 2 }, { location: 'berlin', total: 7, sold: 7 }] });
  });

  it('a plain total on a split SKU with locations makes "default" the one location taking holds, as on an unsplit SKU; held units stay where they are, and count toward it', async () => {
    const sku = skuIn(ctx, 2, 'to-plain-');
    expect((await put(sku, { locations: [{ location: 'berlin', total: 6 }, { location: 'paris', total: 6 }], buckets: 3 })).statusCode).toBe(201);
    // Holds outside the first bucket: one user's reserves one after another take the buckets in turn.
    for (let n = 0; n < 6; n++) expect((await reserve(sku, 'early', 1, { items: [{ sku, qty: 1, location: n % 2 ? 'paris' : 'berlin' }] })).statusCode).toBe(201);
    expect((await bucketCounters(sku, 3)).slice(1).some((level) => level.reserved > 0)).toBe(true);
    const plain = await put(sku, { total: 10, buckets: 3 });
    expect(plain.statusCode, plain.body).toBe(200);
    // The total is the SKU's, the units held at the retired locations included (lua/set_stock.lua).
    expect(plain.json()).toMatchObject({ total: 10, reserved: 6, available: 4 });
    expect(plain.json().locations).toMatchObject([
      { location: 'default', active: true, total: 4, available: 4 },
      { location: 'berlin', active: false, total: 3, reserved: 3 },
      { location: 'paris', active: false, total: 3, reserved: 3 },
    ]);
    await locationCounters(sku, 3);
    // Below what is held at the retired locations: refused as on an unsplit SKU, nothing changed.
    const below = await put(sku, { total: 5, buckets: 3 });
    expect(below.statusCode, below.body).toBe(409);
    expect(below.json().error).toMatchObject({ code: 'TOTAL_BELOW_COMMITTED', details: { requestedTotal: 5, reserved: 6 } });
    expect(await view(sku)).toMatchObject({ total: 10, reserved: 6, available: 4 });
    await pass();
  });

  it('a line with a plain total on a split SKU with locations counts what the other buckets sold at the locations it retires', async () => {
    const sku = skuIn(ctx, 2, 'lined-plain-');
    expect((await put(sku, { locations: [{ location: 'berlin', total: 6 }, { location: 'paris', total: 6 }], buckets: 3 })).statusCode).toBe(201);
    // Sales outside the first bucket: one user's reserves one after another take the buckets in turn.
    for (let n = 0; n < 6; n++) {
      const held = await reserve(sku, 'early', 1, { items: [{ sku, qty: 1, location: n % 2 ? 'paris' : 'berlin' }] });
      expect((await inject('POST', `/v1/reservations/${held.json().id}/commit`)).statusCode).toBe(200);
    }
    expect((await bucketCounters(sku, 3)).slice(1).some((level) => level.sold > 0)).toBe(true);
    const lined = await put(sku, { total: 10, buckets: 3, line: { holdTtlSeconds: 60 } });
    expect(lined.statusCode, lined.body).toBe(200);
    expect(lined.json()).toMatchObject({ total: 10, sold: 6, available: 4, line: { waiting: 0 } });
    expect((await bucketCounters(sku, 3)).slice(1).every((level) => level.available === 0)).toBe(true);
    for (let n = 0; n < 4; n++) expect((await inject('POST', `/v1/skus/${sku}/line`, { userId: `fan-${n}`, qty: 1 })).json().status).toBe('ADMITTED');
    await locationCounters(sku, 3);
    await pass();
  });

  it('a waiting line on a split SKU with locations: each location\'s units gather in the first bucket', async () => {
    const sku = skuIn(ctx, 0, 'located-lined-');
    expect((await put(sku, { locations: [{ location: 'berlin', total: 3 }, { location: 'paris', total: 4 }], buckets: 3 })).statusCode).toBe(201);
    const sold = await inject('POST', '/v1/reservations', { userId: 'early', items: [{ sku, qty: 2, location: 'paris' }] });
    expect((await inject('POST', `/v1/reservations/${sold.json().id}/commit`)).statusCode).toBe(200);
    const lined = await inject('PATCH', `/v1/admin/skus/${sku}`, { line: { holdTtlSeconds: 60 } }, adminHeaders);
    expect(lined.statusCode, lined.body).toBe(200);
    const levels = await locationCounters(sku, 3);
    // The other buckets keep only what they sold; the first holds every unit left, location by location.
    for (const bucket of levels.slice(1)) for (const level of Object.values(bucket)) expect(level.available).toBe(0);
    expect([levels[0].berlin.available, levels[0].paris.available]).toEqual([3, 2]);
    const ticket = await inject('POST', `/v1/skus/${sku}/line`, { userId: 'waiter', qty: 5 });
    expect(ticket.statusCode, ticket.body).toBe(202);
    expect(await view(sku)).toMatchObject({ total: 7, available: 0, reserved: 5, sold: 2, line: { admitted: 1 } });
    await pass();
  });

  it('a PUT while units are on their way between buckets keeps the total it names once they arrive', async () => {
    const sku = skuIn(ctx, 1, 'in-flight-');
    expect((await put(sku, { total: 10, buckets: 2 })).statusCode).toBe(201);
    const names = bucketSkus(sku, 2);
    // A move its engine left after its move out (it died): the units are in neither bucket.
    const move = { id: `in-flight-${sku}`, source: names[0], target: names[1], qty: 3, location: '' };
    expect((await ctx.maintenance.bucketMoves.takeOut(move)).taken).toBe(true);
    const again = await put(sku, { total: 12, buckets: 2 });
    expect(again.statusCode, again.body).toBe(200);
    expect(await ctx.maintenance.bucketMoves.putIn(move)).toBe('added');
    await ctx.maintenance.bucketMoves.finish(move);
    expect(await view(sku)).toMatchObject({ total: 12, available: 12 });
    await bucketCounters(sku, 2);
    await pass();
  });

  it('a PATCH naming no stock while units are on their way between buckets keeps the total once they arrive', async () => {
    const sku = skuIn(ctx, 1, 'in-flight-patch-');
    expect((await put(sku, { total: 10, buckets: 2 })).statusCode).toBe(201);
    const names = bucketSkus(sku, 2);
    const move = { id: `in-flight-patch-${sku}`, source: names[0], target: names[1], qty: 3, location: '' };
    expect((await ctx.maintenance.bucketMoves.takeOut(move)).taken).toBe(true);
    // The view leaves the moving units out (7): the PATCH keeps what the buckets hold, those included.
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    const patched = await inject('PATCH', `/v1/admin/skus/${sku}`, { endsAt }, adminHeaders);
    expect(patched.statusCode, patched.body).toBe(200);
    expect(await ctx.maintenance.bucketMoves.putIn(move)).toBe('added');
    await ctx.maintenance.bucketMoves.finish(move);
    expect(await view(sku)).toMatchObject({ total: 10, available: 10, endsAt });
    await bucketCounters(sku, 2);
    await pass();
  });

  /** Runs `during` once, just before the write of `bucket` (its engine's setStock), then lets the write go on. */
  function beforeBucketWrite(bucket: string, during: () => Promise<void>) {
    const setStock = ctx.engine.setStock;
    let ran = false;
    ctx.engine.setStock = async (name, ...rest) => {
      if (name === bucket && !ran) {
        ran = true;
        await during();
      }
      return setStock.call(ctx.engine, name, ...rest);
    };
    return {
      ran: () => ran,
      restore: () => {
        ctx.engine.setStock = setStock;
      },
    };
  }

  it('a PUT refused after it wrote some buckets undoes them: the refusal changed nothing', async () => {
    const sku = skuIn(ctx, 1, 'undone-');
    const endsAt = new Date(Date.now() + 7_200_000).toISOString();
    expect((await put(sku, { total: 9, buckets: 3, endsAt })).statusCode).toBe(201);
    const names = bucketSkus(sku, 3);
    // Lowering to 2 writes the other buckets first; just before the first bucket's write, 3 units
    // are held there: it refuses, and no plan can take the total below what is now held.
    const hook = beforeBucketWrite(names[0], async () => {
      const held = await ctx.engine.reserve({ userId: 'late', orderId: null, lines: [{ sku: names[0], qty: 3 }], ttlSeconds: 600, allowPartial: false }, undefined, 0);
      expect(held.kind).toBe('created');
    });
    try {
      const refused = await put(sku, { total: 2, buckets: 3 });
      expect(refused.statusCode, refused.body).toBe(409);
      expect(refused.json().error.code).toBe('TOTAL_BELOW_COMMITTED');
    } finally {
      hook.restore();
    }
    expect(hook.ran()).toBe(true);
    expect((await bucketCounters(sku, 3)).map((level) => level.total)).toEqual([3, 3, 3]);
    for (const name of names) expect((await ctx.engine.getSku(name))?.endsAt, name).toBe(endsAt);
    expect(await view(sku)).toMatchObject({ total: 9, available: 6, reserved: 3, endsAt });
    await pass();
  });

  /** 9 units over 3 buckets, one held in the last: a line's write changes the second bucket, then the last refuses it. */
  async function splitHeldInLast(prefix: string) {
    const sku = skuIn(ctx, 2, prefix);
    expect((await put(sku, { total: 9, buckets: 3 })).statusCode).toBe(201);
    const names = bucketSkus(sku, 3);
    await ctx.engine.reserve({ userId: 'early', orderId: null, lines: [{ sku: names[2], qty: 1 }], ttlSeconds: 600, allowPartial: false }, undefined, 2);
    return { sku, names };
  }

  it('an adjust landing between a bucket\'s read and its write makes the write plan again: its undo keeps the adjust', async () => {
    const sku = skuIn(ctx, 1, 'undone-adjusted-');
    expect((await put(sku, { total: 9, buckets: 3 })).statusCode).toBe(201);
    const names = bucketSkus(sku, 3);
    // Just before the second bucket's write an operator takes a unit from it; just before the
    // first's, 3 units are held there, and the lowered total can no longer be planned.
    const adjusted = beforeBucketWrite(names[1], async () => {
      await ctx.engine.adjustStock(names[1], -1, 'damaged', 'test');
    });
    const held = beforeBucketWrite(names[0], async () => {
      await ctx.engine.reserve({ userId: 'late', orderId: null, lines: [{ sku: names[0], qty: 3 }], ttlSeconds: 600, allowPartial: false }, undefined, 0);
    });
    try {
      const refused = await put(sku, { total: 2, buckets: 3 });
      expect(refused.statusCode, refused.body).toBe(409);
    } finally {
      held.restore();
      adjusted.restore();
    }
    expect(adjusted.ran() && held.ran()).toBe(true);
    expect((await bucketCounters(sku, 3)).map((level) => level.total)).toEqual([3, 2, 3]);
    expect(await view(sku)).toMatchObject({ total: 8, reserved: 3 });
    await pass();
  });

  it('a line refused half-way is undone by what it changed: units that moved meanwhile stay', async () => {
    // 2 units move from the first bucket to the second between the two.
    const { sku, names } = await splitHeldInLast('undone-lined-');
    const move = { id: `undone-lined-${sku}`, source: names[0], target: names[1], qty: 2, location: '' };
    const hook = beforeBucketWrite(names[2], async () => {
      expect((await ctx.maintenance.bucketMoves.takeOut(move)).taken).toBe(true);
      expect(await ctx.maintenance.bucketMoves.putIn(move)).toBe('added');
      await ctx.maintenance.bucketMoves.finish(move);
    });
    try {
      const refused = await inject('PATCH', `/v1/admin/skus/${sku}`, { line: { holdTtlSeconds: 60 } }, adminHeaders);
      expect(refused.statusCode, refused.body).toBe(400);
    } finally {
      hook.restore();
    }
    expect(hook.ran()).toBe(true);
    expect((await bucketCounters(sku, 3)).map((level) => level.total)).toEqual([1, 5, 3]);
    expect(await view(sku)).toMatchObject({ total: 9, available: 8, reserved: 1, line: null });
    await pass();
  });

  /** A PUT whose buckets other than the first are written, then Redis fails the first's write (the one that tells the count): 503. */
  async function failedBeforeFirstBucket(sku: string, body: Record<string, unknown>) {
    const setStock = ctx.engine.setStock;
    ctx.engine.setStock = async (name, ...rest) => {
      if (name === sku) throw new Error('Redis went away');
      return setStock.call(ctx.engine, name, ...rest);
    };
    try {
      const failed = await put(sku, body);
      expect(failed.statusCode, failed.body).toBe(503);
    } finally {
      ctx.engine.setStock = setStock;
    }
  }

  it('a split SKU created half-way by a write Redis failed is created whole by its retry', async () => {
    const sku = skuIn(ctx, 1, 'half-made-');
    await failedBeforeFirstBucket(sku, { total: 12, buckets: 3 });
    expect((await inject('GET', `/v1/skus/${sku}`)).statusCode).toBe(404);
    const retried = await put(sku, { total: 12, buckets: 3 });
    expect(retried.statusCode, retried.body).toBe(201);
    expect(retried.json()).toMatchObject({ total: 12, available: 12, buckets: 3 });
    expect((await bucketCounters(sku, 3)).reduce((sum, level) => sum + level.total, 0)).toBe(12);
    await pass();
  });

  it('a growth Redis failed half-way answers 503, and its retry ends where it meant to, the buckets it made included', async () => {
    const sku = skuIn(ctx, 1, 'half-grown-');
    expect((await put(sku, { total: 12, buckets: 2 })).statusCode).toBe(201);
    await failedBeforeFirstBucket(sku, { total: 20, buckets: 4 });
    expect(await view(sku)).toMatchObject({ buckets: 2 });
    const retried = await put(sku, { total: 20, buckets: 4 });
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({ total: 20, available: 20, buckets: 4 });
    expect((await bucketCounters(sku, 4)).reduce((sum, level) => sum + level.total, 0)).toBe(20);
    for (let n = 0; n < 20; n++) expect((await reserve(sku, `buyer-${n}`, 1)).statusCode).toBe(201);
    expect((await reserve(sku, 'one-too-many', 1)).json().error.code).toBe('INSUFFICIENT_STOCK');
    await pass();
  });

  it(`PUTs of one split SKU at once end as one of them, never a mix of their plans (seed ${seed})`, async () => {
    const sku = skuIn(ctx, 0, 'racing-puts-');
    expect((await put(sku, { total: 40, buckets: 4 })).statusCode).toBe(201);
    const random = new Random(seed + (redis === 'cluster' ? 1 : 0));
    for (let round = 0; round < 8; round++) {
      const writes = [0, 1, 2].map((n) => ({ total: random.int(10, 99), endsAt: new Date(Date.UTC(2100, 0, 1 + round * 3 + n)).toISOString() }));
      const answers = await Promise.all(writes.map((write) => put(sku, { ...write, buckets: 4 })));
      for (const answer of answers) expect([200, 503], answer.body).toContain(answer.statusCode);
      const now = await view(sku);
      const last = writes.find((write) => write.endsAt === now.endsAt);
      expect(last, `round ${round}: ${JSON.stringify(now)} is none of ${JSON.stringify(writes)}`).toBeDefined();
      expect(now.total, `round ${round}: the total of the write whose window the SKU has`).toBe(last!.total);
      for (const name of bucketSkus(sku, 4)) expect((await ctx.engine.getSku(name))?.endsAt, `round ${round}, ${name}`).toBe(now.endsAt);
      await bucketCounters(sku, 4);
    }
    await pass();
  });

  it('a line refused half-way whose bucket cannot be written back answers 503, not that nothing changed', async () => {
    const { sku, names } = await splitHeldInLast('half-lined-');
    const setStock = ctx.engine.setStock;
    let refused = false;
    ctx.engine.setStock = async (name, ...rest) => {
      if (refused && name === names[1]) throw new Error('Redis went away');
      return setStock.call(ctx.engine, name, ...rest).catch((error: unknown) => {
        refused ||= name === names[2];
        throw error;
      });
    };
    try {
      const answer = await inject('PATCH', `/v1/admin/skus/${sku}`, { line: { holdTtlSeconds: 60 } }, adminHeaders);
      expect(answer.statusCode, answer.body).toBe(503);
      expect(answer.json().error.code).toBe('UNAVAILABLE');
    } finally {
      ctx.engine.setStock = setStock;
    }
    expect(refused).toBe(true);
  });

  it('per-user limits, Idempotency-Keys and allowPartial hold across buckets', async () => {
    const sku = skuIn(ctx, 3, 'rules-');
    expect((await put(sku, { total: 12, buckets: 3, perUserLimit: 3 })).statusCode).toBe(201);
    expect((await reserve(sku, 'u1', 2)).statusCode).toBe(201);
    const over = await reserve(sku, 'u1', 2);
    expect(over.statusCode).toBe(409);
    expect(over.json().error).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED', details: { sku, requested: 2, alreadyHeld: 2, limit: 3 } });
    const key = { 'idempotency-key': 'cart-7' };
    const first = await reserve(sku, 'u2', 3, {}, key);
    const again = await reserve(sku, 'u2', 3, {}, key);
    expect(first.statusCode).toBe(201);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    // 7 left over three buckets: a partial hold takes what all of them have, not one bucket's share.
    for (const user of ['u3', 'u4']) expect((await reserve(sku, user, 3)).statusCode).toBe(201);
    const partial = await reserve(sku, 'u5', 3, { allowPartial: true });
    expect(partial.statusCode, partial.body).toBe(201);
    expect(partial.json().items[0]).toMatchObject({ sku, qty: 3, reserved: 1, backordered: 2 });
    expect(await view(sku)).toMatchObject({ total: 12, available: 0, reserved: 12 });
    await pass();
  });

  it('a reservation spanning a split SKU and another holds, commits and ends in every partition', async () => {
    const sku = skuIn(ctx, 0, 'span-');
    const plain = skuIn(ctx, 2, 'plain-');
    expect((await put(sku, { total: 4, buckets: 2 })).statusCode).toBe(201);
    expect((await put(plain, { total: 4 })).statusCode).toBe(201);
    const answer = await inject('POST', '/v1/reservations', { userId: 'spanner', items: [{ sku: plain, qty: 1 }, { sku, qty: 3 }] });
    expect(answer.statusCode, answer.body).toBe(201);
    expect(answer.json().items.map((item: { sku: string }) => item.sku)).toEqual([plain, sku]);
    expect((await inject('POST', `/v1/reservations/${answer.json().id}/commit`)).json().status).toBe('COMMITTED');
    expect(await view(sku)).toMatchObject({ total: 4, available: 1, sold: 3 });
    await pass();
  });

  it('PUT and PATCH: totals change across buckets, buckets only grow', async () => {
    const sku = skuIn(ctx, 1, 'edit-');
    expect((await put(sku, { total: 10, buckets: 2 })).statusCode).toBe(201);
    expect((await reserve(sku, 'holder', 2)).statusCode).toBe(201);
    const lowered = await inject('PATCH', `/v1/admin/skus/${sku}`, { total: 4 }, adminHeaders);
    expect(lowered.statusCode, lowered.body).toBe(200);
    expect(lowered.json()).toMatchObject({ total: 4, available: 2, reserved: 2, buckets: 2 });
    expect((await inject('PATCH', `/v1/admin/skus/${sku}`, { total: 1 }, adminHeaders)).json().error.code).toBe('TOTAL_BELOW_COMMITTED');
    const grown = await inject('PATCH', `/v1/admin/skus/${sku}`, { buckets: 4, total: 20 }, adminHeaders);
    expect(grown.statusCode, grown.body).toBe(200);
    expect(grown.json()).toMatchObject({ total: 20, available: 18, reserved: 2, buckets: 4 });
    for (const body of [{ buckets: 3 }]) {
      const refused = await inject('PATCH', `/v1/admin/skus/${sku}`, body, adminHeaders);
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
      expect(refused.json().error.code).toBe('VALIDATION_FAILED');
    }
    await bucketCounters(sku, 4);
    await pass();
  });

  it('a waiting line runs in the first bucket: the others give it their units, sell nothing while it lasts, and sell again once it is gone', async () => {
    const sku = skuIn(ctx, 1, 'lined-');
    expect((await put(sku, { total: 10, buckets: 3 })).statusCode).toBe(201);
    // One user's reserves one after another take the buckets in turn, until the last holds units;
    // those in the second are let go, so the line's write changes the second before the last refuses it.
    const names = bucketSkus(sku, 3);
    const holds: string[] = [];
    const heldIn = async (bucket: number) => (await bucketCounters(sku, 3))[bucket].reserved > 0;
    while (!(await heldIn(2)) && holds.length < 9) holds.push((await reserve(sku, 'early', 1)).json().id);
    expect(await heldIn(2)).toBe(true);
    for (const member of await ctx.redis.zrange(ctx.keys.expiry(names[1]), 0, -1)) {
      const id = member.split('|')[0];
      expect((await inject('POST', `/v1/reservations/${id}/release`)).statusCode).toBe(200);
      holds.splice(holds.indexOf(id), 1);
    }
    const withLine = { line: { holdTtlSeconds: 60 } };
    const refused = await inject('PATCH', `/v1/admin/skus/${sku}`, withLine, adminHeaders);
    expect(refused.statusCode, refused.body).toBe(400);
    expect(refused.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { sku } });
    // Refused, it changed nothing: the buckets keep their units, and sell.
    expect((await bucketCounters(sku, 3)).map((level) => level.total)).toEqual([4, 3, 3]);
    expect(await view(sku)).toMatchObject({ total: 10, reserved: holds.length, line: null });
    holds.push((await reserve(sku, 'early', 1)).json().id);
    for (const id of holds) expect((await inject('POST', `/v1/reservations/${id}/release`)).statusCode).toBe(200);
    // No limit beside a line: each user's count would live in the user's bucket, the line admits in the first.
    expect((await put(sku, { total: 10, buckets: 3, perUserLimit: 2, ...withLine })).statusCode).toBe(400);

    const lined = await inject('PATCH', `/v1/admin/skus/${sku}`, withLine, adminHeaders);
    expect(lined.statusCode, lined.body).toBe(200);
    expect(lined.json()).toMatchObject({ total: 10, available: 10, buckets: 3, line: { waiting: 0, admitted: 0, holdTtlSeconds: 60 } });
    expect((await bucketCounters(sku, 3)).map((level) => level.total)).toEqual([10, 0, 0]);
    // Nobody jumps the line, whichever bucket a turn's reserves go to; the refusal names the SKU.
    for (let n = 0; n < 3; n++) expect((await reserve(sku, 'jumper', 1)).json().error).toMatchObject({ code: 'LINE_REQUIRED', details: { sku } });

    const tickets: { id: string; userId: string }[] = [];
    for (let n = 0; n < 12; n++) {
      const joined = await inject('POST', `/v1/skus/${sku}/line`, { userId: `fan-${n}`, qty: 1 });
      expect(joined.statusCode, joined.body).toBe(202);
      tickets.push({ id: joined.json().id, userId: `fan-${n}` });
    }
    const statusOf = async (id: string) => (await inject('GET', `/v1/line-tickets/${id}`)).json();
    const statuses = async () => Promise.all(tickets.map(async ({ id }) => (await statusOf(id)).status));
    expect(await statuses()).toEqual([...Array(10).fill('ADMITTED'), 'WAITING', 'WAITING']);
    // A unit given back goes to the next ticket in the same step.
    expect((await inject('POST', `/v1/reservations/${tickets[0].id}/release`)).statusCode).toBe(200);
    expect((await statusOf(tickets[10].id)).status).toBe('ADMITTED');
    for (const { id } of tickets.slice(1, 11)) expect((await inject('POST', `/v1/reservations/${id}/commit`)).statusCode).toBe(200);
    // Every unit sold: the last ticket ends SOLD_OUT (within a second).
    const deadline = Date.now() + 5_000;
    while ((await statusOf(tickets[11].id)).status !== 'SOLD_OUT' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await statusOf(tickets[11].id)).status).toBe('SOLD_OUT');
    expect(await view(sku)).toMatchObject({ total: 10, available: 0, reserved: 0, sold: 10, line: { waiting: 0, admitted: 11 } });
    await pass();

    // More buckets while it lasts: the new one holds nothing either.
    const grown = await inject('PATCH', `/v1/admin/skus/${sku}`, { buckets: 4 }, adminHeaders);
    expect(grown.statusCode, grown.body).toBe(200);
    expect((await bucketCounters(sku, 4)).map((level) => level.total)).toEqual([10, 0, 0, 0]);
    // Without the line, the SKU sells from every bucket again: units added go to the first, and
    // reserves whose turn takes them elsewhere have units moved to them.
    expect((await inject('PATCH', `/v1/admin/skus/${sku}`, { line: null }, adminHeaders)).statusCode).toBe(200);
    expect((await inject('POST', `/v1/admin/skus/${sku}/adjust`, { delta: 4, reason: 'restock' }, adminHeaders)).statusCode).toBe(200);
    for (let n = 0; n < 4; n++) expect((await reserve(sku, 'later', 1)).statusCode).toBe(201);
    expect(await view(sku)).toMatchObject({ total: 14, available: 0, reserved: 4, sold: 10, line: null });
    await bucketCounters(sku, 4);
    await pass();
  });

  it('a refill under way when the line is set still lands its units where the line reaches them, and no bucket with a line gives units since', async () => {
    const sku = skuIn(ctx, 1, 'lined-move-');
    expect((await put(sku, { total: 9, buckets: 3 })).statusCode).toBe(201);
    const names = bucketSkus(sku, 3);
    // A refill a reserve began a moment before: its units have left bucket 0 for bucket 1, not yet arrived.
    const move = { id: `test-${sku}`, source: names[0], target: names[1], qty: 2, location: '' };
    expect((await ctx.maintenance.bucketMoves.takeOut(move)).taken).toBe(true);
    const lined = put(sku, { total: 9, buckets: 3, line: { holdTtlSeconds: 60 } });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await ctx.maintenance.bucketMoves.putIn(move)).toBe('added');
    expect(await ctx.maintenance.bucketMoves.finish(move)).toBe(true);
    const answer = await lined;
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json()).toMatchObject({ total: 9, available: 9, line: { waiting: 0 } });
    expect((await bucketCounters(sku, 3)).map((level) => level.total)).toEqual([9, 0, 0]);
    // With the line, bucket 0 gives no units to the others.
    expect(await ctx.maintenance.bucketMoves.takeOut({ id: `test-again-${sku}`, source: names[0], target: names[2], qty: 1, location: '' })).toMatchObject({ taken: false, reason: 'INSUFFICIENT_STOCK', available: 0 });
    await pass();
  });

  it('a line is not set while units a stuck move took out are on their way to the first bucket: its line would end tickets SOLD_OUT without them', async () => {
    const sku = skuIn(ctx, 1, 'lined-stuck-');
    expect((await put(sku, { total: 4, buckets: 2 })).statusCode).toBe(201);
    const names = bucketSkus(sku, 2);
    // A refill whose engine died after its move out: 2 units left bucket 1 for bucket 0.
    const move = { id: `stuck-${sku}`, source: names[1], target: names[0], qty: 2, location: '' };
    expect((await ctx.maintenance.bucketMoves.takeOut(move)).taken).toBe(true);
    const refused = await put(sku, { total: 4, buckets: 2, line: { holdTtlSeconds: 60 } });
    expect(refused.statusCode, refused.body).toBe(503);
    expect(refused.json().error.message).toContain('nothing changed');
    expect(await view(sku)).toMatchObject({ total: 2, line: null });
    expect(await ctx.maintenance.bucketMoves.putIn(move)).toBe('added');
    expect(await ctx.maintenance.bucketMoves.finish(move)).toBe(true);
    const lined = await put(sku, { total: 4, buckets: 2, line: { holdTtlSeconds: 60 } });
    expect(lined.statusCode, lined.body).toBe(200);
    expect((await bucketCounters(sku, 2)).map((level) => level.total)).toEqual([4, 0]);
    // Every unit within the line's reach: four shoppers of one unit are admitted.
    for (let n = 0; n < 4; n++) expect((await inject('POST', `/v1/skus/${sku}/line`, { userId: `fan-${n}`, qty: 1 })).json().status).toBe('ADMITTED');
    await pass();
  });

  it('adjusts, movements, webhooks and metrics tell of the SKU, never of its buckets', async () => {
    const sku = skuIn(ctx, 2, 'told-');
    const hook = await inject('PUT', `/v1/admin/webhooks/${sku}`, { url: 'http://127.0.0.1:9/hook', events: ['stock.changed', 'stock.sold_out'], secret: 'a-secret-of-sixteen+' }, adminHeaders);
    expect(hook.statusCode, hook.body).toBe(201);
    expect((await put(sku, { total: 6, buckets: 3 })).statusCode).toBe(201);
    // Each bucket has 2: taking 5 away takes from all three.
    const adjusted = await inject('POST', `/v1/admin/skus/${sku}/adjust`, { delta: -5, reason: 'damaged' }, adminHeaders);
    expect(adjusted.statusCode, adjusted.body).toBe(200);
    expect(adjusted.json()).toMatchObject({ total: 1, available: 1 });
    const beyond = await inject('POST', `/v1/admin/skus/${sku}/adjust`, { delta: -2, reason: 'damaged' }, adminHeaders);
    expect(beyond.statusCode).toBe(409);
    expect(await view(sku)).toMatchObject({ total: 1, available: 1 });
    expect((await reserve(sku, 'last-buyer', 1)).statusCode).toBe(201);
    await pass();
    const movements = (await inject('GET', `/v1/admin/skus/${sku}/movements?limit=50`, undefined, adminHeaders)).json().items;
    const sum = (type: string) => movements.filter((item: { type: string }) => item.type === type).reduce((total: number, item: { qty: number }) => total + item.qty, 0);
    expect([sum('SET'), sum('ADJUST'), sum('RESERVE'), sum('MOVE')]).toEqual([6, -5, 1, 0]);
    const told = await queryRows<{ subject: string; type: string }>(ctx.db, sql`select subject, type from webhook_events where subject like ${`${sku}%`} order by created_at`);
    expect(new Set(told.map((event) => event.subject))).toEqual(new Set([sku]));
    expect(told.map((event) => event.type)).toContain('stock.sold_out');
    const metrics = (await inject('GET', '/metrics')).body;
    expect(metrics).toMatch(new RegExp(`sku="${sku}"`));
    expect(metrics).not.toMatch(new RegExp(`sku="${sku}~`));
  });
});

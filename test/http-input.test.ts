import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, adminHeaders, createSku, createTestContext, rawCounters, uniqueName } from './support/context';
import { expectErrorShape } from './support/http';

let ctx: TestContext;
let sku: string;
let otherSku: string;
beforeAll(async () => {
  ctx = await createTestContext();
  sku = uniqueName('tv-');
  otherSku = uniqueName('radio-');
  await createSku(ctx, sku, { total: 10 });
  await createSku(ctx, otherSku, { total: 3 });
});
afterAll(() => ctx.close());

describe('POST /v1/availability merges lines naming the same SKU, as reserve does', () => {
  const availability = (items: object[]) => ctx.app.inject({ method: 'POST', url: '/v1/availability', payload: { items } });

  it('answers one line per SKU with the quantities summed', async () => {
    const response = await availability([{ sku, qty: 6 }, { sku: otherSku, qty: 1 }, { sku, qty: 5 }]);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      ok: false,
      items: [
        { sku, qty: 11, available: 10, ok: false },
        { sku: otherSku, qty: 1, available: 3, ok: true },
      ],
    });
  });

  it('refuses merged lines over 10000 units with 400 VALIDATION_FAILED', async () => {
    expectErrorShape(await availability([{ sku, qty: 6000 }, { sku, qty: 5000 }]), 400, 'VALIDATION_FAILED');
  });
});

describe('PUT /v1/admin/skus/:sku times', () => {
  const put = (target: string, body: object) => ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${target}`, headers: adminHeaders, payload: body });

  it.each([
    ['a leap second', '2016-12-31T23:59:60Z'],
    ['a leap second given with an offset', '2016-12-31T22:59:60-01:00'],
    ['an hour-only offset', '2030-01-01T00:00:00+01'],
    ['a space for the T (Date reads year 0070 as 1970)', '0070-01-01 00:00:00Z'],
    ['a time before 1970', '1969-12-31T23:59:59.999Z'],
    ['a time past year 9999 once in UTC', '9999-12-31T23:59:59-01:00'],
    ['February 30th', '2030-02-30T00:00:00Z'],
    ['ten fraction digits (Date reads .0007000000 as 7 ms)', '2030-01-01T00:00:00.0007000000Z'],
  ])('%s (%s) is 400 VALIDATION_FAILED and changes nothing', async (_name, time) => {
    const before = await rawCounters(ctx, sku);
    expectErrorShape(await put(sku, { total: 20, startsAt: time }), 400, 'VALIDATION_FAILED');
    expectErrorShape(await put(sku, { total: 20, endsAt: time }), 400, 'VALIDATION_FAILED');
    expect(await rawCounters(ctx, sku)).toEqual(before);
  });

  it.each([
    ['lowercase t and z', '2030-06-01t12:00:00z', '2030-06-01T12:00:00.000Z'],
    ['an offset without a colon', '2030-06-01T12:00:00+0130', '2030-06-01T10:30:00.000Z'],
    ['nanoseconds', '2030-06-01T12:00:00.123456789Z', '2030-06-01T12:00:00.123Z'],
    ['the first instant of 1970', '1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
    ['the last instant of 9999', '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('%s (%s) is accepted as the instant it names', async (_name, time, expected) => {
    const response = await put(uniqueName('window-'), { total: 1, startsAt: time });
    expect(response.statusCode).toBe(201);
    expect(response.json().startsAt).toBe(expected);
  });
});

describe('Idempotency-Key', () => {
  const reserve = (key: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/v1/reservations',
      headers: { 'idempotency-key': key },
      payload: { userId: 'u-1', orderId: 'o-1', items: [{ sku, qty: 1 }] },
    });

  it('may contain spaces: a key with inner spaces is accepted and replays', async () => {
    const key = `cart ${uniqueName('')} checkout 1`;
    const first = await reserve(key);
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotency-replayed']).toBeUndefined();
    const replay = await reserve(key);
    expect(replay.statusCode).toBe(201);
    expect(replay.headers['idempotency-replayed']).toBe('true');
    expect(replay.json()).toEqual(first.json());
  });

  it.each([
    ['empty', ''],
    ['non-ASCII', 'clé-1'],
    ['a control character', 'key\u0001'],
    ['256 characters', 'k'.repeat(256)],
  ])('is 400 VALIDATION_FAILED when %s, and holds nothing', async (_name, key) => {
    const before = await rawCounters(ctx, sku);
    expectErrorShape(await reserve(key), 400, 'VALIDATION_FAILED');
    expect(await rawCounters(ctx, sku)).toEqual(before);
  });
});

describe('URLs the router or the query coercion used to let through', () => {
  it.each([
    ['a bad %-escape in a SKU', 'GET', '/v1/skus/%ZZ'],
    ['a bad %-escape in a reservation id', 'POST', '/v1/reservations/%E0%A4%A/commit'],
    ['a path parameter over the router limit of 100 characters', 'GET', `/v1/reservations/${'r'.repeat(101)}`],
  ] as const)('%s is 400 VALIDATION_FAILED in the error shape', async (_name, method, url) => {
    expectErrorShape(await ctx.app.inject({ method, url }), 400, 'VALIDATION_FAILED');
  });

  it.each(['Infinity', '-Infinity', '1e400'])('?limit=%s is 400 VALIDATION_FAILED, not a query Postgres refuses', async (limit) => {
    for (const path of [`/v1/admin/skus/${sku}/movements`, '/v1/admin/reconcile/runs']) {
      expectErrorShape(await ctx.app.inject({ method: 'GET', url: `${path}?limit=${limit}`, headers: adminHeaders }), 400, 'VALIDATION_FAILED');
    }
  });
});

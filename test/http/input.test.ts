import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, adminHeaders, createSku, createTestContext, rawCounters, uniqueName } from '../support/context';
import { expectErrorShape } from '../support/http';

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

describe('stock locations: bad input is 400 VALIDATION_FAILED and changes nothing', () => {
  const put = (target: string, body: object) => ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${target}`, headers: adminHeaders, payload: body });
  const adjust = (target: string, body: object) => ctx.app.inject({ method: 'POST', url: `/v1/admin/skus/${target}/adjust`, headers: adminHeaders, payload: body });
  const many = Array.from({ length: 51 }, (_, n) => ({ location: `w${n}`, total: 1 }));

  it.each([
    ['both total and locations', { total: 5, locations: [{ location: 'a', total: 5 }] }],
    ['neither total nor locations', { perUserLimit: 2 }],
    ['no location at all', { locations: [] }],
    ['51 locations', { locations: many }],
    ['a location listed twice', { locations: [{ location: 'a', total: 1 }, { location: 'a', total: 2 }] }],
    ['a location with a comma', { locations: [{ location: 'a,b', total: 1 }] }],
    ['a location with a "|"', { locations: [{ location: 'a|total', total: 1 }] }],
    ['a negative location total', { locations: [{ location: 'a', total: -1 }] }],
    ['locations adding up to more than 1e9', { locations: [{ location: 'a', total: 600_000_000 }, { location: 'b', total: 600_000_000 }] }],
  ])('PUT with %s', async (_name, body) => {
    const before = await ctx.redis.hgetall(ctx.keys.stock(sku));
    expectErrorShape(await put(sku, body), 400, 'VALIDATION_FAILED');
    expect(await ctx.redis.hgetall(ctx.keys.stock(sku))).toEqual(before);
  });

  it('adjust without a location on a SKU with several names them; with a location it has not is 404', async () => {
    const located = uniqueName('wh-');
    await createSku(ctx, located, { locations: [{ location: 'a', total: 1 }, { location: 'b', total: 1 }] });
    const missing = await adjust(located, { delta: 1, reason: 'restock' });
    expectErrorShape(missing, 400, 'VALIDATION_FAILED');
    expect(missing.json().error.details).toEqual({ sku: located, locations: ['a', 'b'] });
    expectErrorShape(await adjust(located, { delta: 1, reason: 'restock', location: 'c' }), 404, 'LOCATION_NOT_FOUND');
    expectErrorShape(await adjust(sku, { delta: 1, reason: 'restock', location: 'a' }), 404, 'LOCATION_NOT_FOUND');
    expect((await adjust(sku, { delta: 1, reason: 'restock', location: 'default' })).statusCode).toBe(200);
  });

  it('a reserve line naming a location with a bad character is 400; availability answers per named location', async () => {
    const reserve = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u1', items: [{ sku, qty: 1, location: 'a=1' }] } });
    expectErrorShape(reserve, 400, 'VALIDATION_FAILED');
    const located = uniqueName('wh-');
    await createSku(ctx, located, { locations: [{ location: 'a', total: 1 }, { location: 'b', total: 4 }] });
    const answer = await ctx.app.inject({
      method: 'POST',
      url: '/v1/availability',
      payload: { items: [{ sku: located, qty: 2, location: 'a' }, { sku: located, qty: 5 }, { sku: located, qty: 1, location: 'z' }] },
    });
    expect(answer.json()).toEqual({
      ok: false,
      items: [
        { sku: located, qty: 2, location: 'a', available: 1, ok: false },
        { sku: located, qty: 5, available: 5, ok: true },
        { sku: located, qty: 1, location: 'z', available: 0, ok: false },
      ],
    });
  });
});

describe('an optional field sent as null means the same as leaving it out', () => {
  it('reserve: orderId, allowPartial, ttlSeconds and a line location sent as null hold as without them', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/v1/reservations',
      payload: { userId: 'u-null', orderId: null, items: [{ sku, qty: 1, location: null }], ttlSeconds: null, allowPartial: null },
    });
    expect(response.statusCode).toBe(201);
    const reservation = response.json();
    expect(reservation).toMatchObject({ orderId: null, items: [{ sku, qty: 1, reserved: 1, status: 'RESERVED' }] });
    expect(Date.parse(reservation.expiresAt) - Date.parse(reservation.createdAt)).toBe(ctx.config.reservationTtlSeconds * 1000);
  });

  it('a reservation sent back as it reads ("orderId": null) replays under its Idempotency-Key', async () => {
    const headers = { 'idempotency-key': uniqueName('null-') };
    const first = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: { userId: 'u-null', items: [{ sku, qty: 1 }] } });
    const again = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: { userId: 'u-null', orderId: null, items: [{ sku, qty: 1 }] } });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
  });

  it('adjust with location null; a required field sent as null is still refused', async () => {
    const adjusted = await ctx.app.inject({ method: 'POST', url: `/v1/admin/skus/${otherSku}/adjust`, headers: adminHeaders, payload: { delta: 1, reason: 'restock', location: null } });
    expect(adjusted.statusCode).toBe(200);
    expectErrorShape(await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: null, items: [{ sku, qty: 1 }] } }), 400, 'VALIDATION_FAILED');
  });
});

describe('commit and release take an empty body, as JSON or without a content type', () => {
  it.each(['commit', 'release'])('%s', async (action) => {
    const { id } = (await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u-empty', items: [{ sku, qty: 1 }] } })).json();
    const answer = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/${action}`, headers: { 'content-type': 'application/json' }, payload: '' });
    expect(answer.statusCode).toBe(200);
    expect(answer.json().status).toBe(action === 'commit' ? 'COMMITTED' : 'RELEASED');
  });

  it('a route whose body is required refuses an empty one as missing', async () => {
    const answer = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers: { 'content-type': 'application/json' }, payload: '' });
    expectErrorShape(answer, 400, 'VALIDATION_FAILED');
  });
});

describe('the OpenAPI document', () => {
  it('marks the bodies of commit and release optional, and lists 413 and 415 on every route that takes a body', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/v1/reservations/{id}/commit'].post.requestBody.required).toBe(false);
    expect(doc.paths['/v1/reservations/{id}/release'].post.requestBody.required).toBe(false);
    expect(doc.paths['/v1/reservations'].post.requestBody.required).toBe(true);
    const withBodies = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations as Record<string, { requestBody?: unknown; responses: object }>)
        .filter(([, operation]) => operation.requestBody)
        .map(([method, operation]) => ({ route: `${method} ${path}`, statuses: Object.keys(operation.responses) })),
    );
    expect(withBodies.length).toBeGreaterThan(5);
    for (const { route, statuses } of withBodies) expect({ route, statuses }).toEqual({ route, statuses: expect.arrayContaining(['413', '415']) });
  });
});

describe('a SKU or location named "." or ".." is refused: no browser or fetch could address it', () => {
  it.each(['.', '..'])('%s', async (name) => {
    const reserve = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u', items: [{ sku: name, qty: 1 }] } });
    expectErrorShape(reserve, 400, 'VALIDATION_FAILED');
    const availability = await ctx.app.inject({ method: 'POST', url: '/v1/availability', payload: { items: [{ sku, qty: 1, location: name }] } });
    expectErrorShape(availability, 400, 'VALIDATION_FAILED');
    const put = await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${uniqueName('dots-')}`, headers: adminHeaders, payload: { locations: [{ location: name, total: 1 }] } });
    expectErrorShape(put, 400, 'VALIDATION_FAILED');
    expectErrorShape(await ctx.app.inject({ method: 'GET', url: `/v1/events?skus=${name}` }), 400, 'VALIDATION_FAILED');
  });

  it('names with dots and more are still fine', async () => {
    const name = `.${uniqueName('')}.`;
    expect((await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${name}`, headers: adminHeaders, payload: { locations: [{ location: '...', total: 1 }] } })).statusCode).toBe(201);
  });
});

describe('an adjust refused for want of available units', () => {
  it('says so in words fitting an adjust, not a reserve', async () => {
    const answer = await ctx.app.inject({ method: 'POST', url: `/v1/admin/skus/${otherSku}/adjust`, headers: adminHeaders, payload: { delta: -1_000, reason: 'recount' } });
    expectErrorShape(answer, 409, 'INSUFFICIENT_STOCK');
    expect(answer.json().error.message).not.toContain('held');
    expect(answer.json().error.message).toContain('available');
    expect(answer.json().error.details).toMatchObject({ sku: otherSku, delta: -1_000 });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_TARGETS, type TestContext, adminHeaders, createSku, createTestContext, rawCounters, uniqueName } from '../support/context';
import { expectErrorShape } from '../support/http';

describe.each(REDIS_TARGETS)('on %s Redis', (redis) => {
  let ctx: TestContext;
  let sku: string;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
    sku = uniqueName('tv-');
    await createSku(ctx, sku, { total: 10, perUserLimit: 5 });
  });
  afterAll(() => ctx.close());

  const json = { 'content-type': 'application/json' };
  const reserveBody = (extra: object = {}) => ({ userId: 'u-17', orderId: 'o-9', items: [{ sku, qty: 1 }], ...extra });

  describe('client routes', () => {
    it('reserve, read, commit, read again: the walk-through of the README', async () => {
      const created = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: reserveBody({ items: [{ sku, qty: 1 }, { sku, qty: 1 }] }) });
      expect(created.statusCode).toBe(201);
      const reservation = created.json();
      expect(reservation).toMatchObject({ status: 'PENDING', userId: 'u-17', orderId: 'o-9', items: [{ sku, qty: 2, reserved: 2, backordered: 0, status: 'RESERVED' }] });
      expect(reservation.id).toMatch(/^[A-Za-z0-9_-]{17}$/);
      const read = await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${reservation.id}` });
      expect(read.json()).toEqual(reservation);
      const committed = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${reservation.id}/commit` });
      expect(committed.statusCode).toBe(200);
      expect(committed.json().status).toBe('COMMITTED');
      const again = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${reservation.id}/commit`, headers: json, payload: {} });
      expect(again.statusCode).toBe(200);
      const released = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${reservation.id}/release` });
      expectErrorShape(released, 409, 'RESERVATION_COMMITTED');
      const view = await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` });
      const counters = { total: 10, available: 8, reserved: 0, sold: 2 };
      expect(view.json()).toEqual({ sku, ...counters, perUserLimit: 5, startsAt: null, endsAt: null, locations: [{ location: 'default', active: true, ...counters }], line: null });
    });

    it('extend answers the new expiry; release returns the units', async () => {
      const { id } = (await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: reserveBody({ ttlSeconds: 30 }) })).json();
      const extended = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/extend`, payload: { ttlSeconds: 300 } });
      expect(extended.statusCode).toBe(200);
      expect(Date.parse(extended.json().expiresAt) - Date.now()).toBeGreaterThan(250_000);
      const released = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/release` });
      expect(released.json().status).toBe('RELEASED');
      const extendReleased = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/extend`, payload: { ttlSeconds: 300 } });
      expectErrorShape(extendReleased, 409, 'RESERVATION_RELEASED');
    });

    it('idempotency over HTTP: replay header, and 422 for the same key with another body', async () => {
      const headers = { 'idempotency-key': `key-${uniqueName('')}` };
      const first = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: reserveBody() });
      const replay = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: reserveBody() });
      expect(replay.statusCode).toBe(201);
      expect(replay.headers['idempotency-replayed']).toBe('true');
      expect(replay.json()).toEqual(first.json());
      const other = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers, payload: reserveBody({ orderId: 'o-10' }) });
      expectErrorShape(other, 422, 'IDEMPOTENCY_KEY_REUSED');
    });

    it('availability holds nothing and reads unknown SKUs as 0', async () => {
      const before = await rawCounters(ctx, sku);
      const response = await ctx.app.inject({ method: 'POST', url: '/v1/availability', payload: { items: [{ sku, qty: 1 }, { sku: 'no-such-sku', qty: 2 }] } });
      expect(response.json()).toEqual({ ok: false, items: [{ sku, qty: 1, available: before.available, ok: true }, { sku: 'no-such-sku', qty: 2, available: 0, ok: false }] });
      expect(await rawCounters(ctx, sku)).toEqual(before);
    });

    it('unknown SKU and unknown reservation are 404 in the error shape', async () => {
      expectErrorShape(await ctx.app.inject({ method: 'GET', url: '/v1/skus/nope' }), 404, 'SKU_NOT_FOUND');
      expectErrorShape(await ctx.app.inject({ method: 'GET', url: '/v1/reservations/nope' }), 404, 'RESERVATION_NOT_FOUND');
      expectErrorShape(await ctx.app.inject({ method: 'POST', url: '/v1/reservations/nope/commit' }), 404, 'RESERVATION_NOT_FOUND');
      expectErrorShape(await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: reserveBody({ items: [{ sku: 'nope', qty: 1 }] }) }), 404, 'SKU_NOT_FOUND');
    });
  });

  describe('bad input: 4xx in the one error shape, and no counter moves', () => {
    const longId = 'x'.repeat(129);
    const cases: [string, object, Record<string, string>?][] = [
      ['braces in a SKU', { userId: 'u', orderId: 'o', items: [{ sku: '{tv}', qty: 1 }] }],
      ['a SKU of 65 characters', { userId: 'u', orderId: 'o', items: [{ sku: 's'.repeat(65), qty: 1 }] }],
      ['a space in userId', { userId: 'u 1', orderId: 'o', items: [{ sku: 'x', qty: 1 }] }],
      ['a userId of 129 characters', { userId: longId, orderId: 'o', items: [{ sku: 'x', qty: 1 }] }],
      ['braces in orderId', { userId: 'u', orderId: 'o{1}', items: [{ sku: 'x', qty: 1 }] }],
      ['qty 0', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: 0 }] }],
      ['qty 10001', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: 10001 }] }],
      ['qty 1.5', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: 1.5 }] }],
      ['qty as a string', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: '1' }] }],
      ['no items', { userId: 'u', orderId: 'o', items: [] }],
      ['51 lines', { userId: 'u', orderId: 'o', items: Array.from({ length: 51 }, (_, n) => ({ sku: `s${n}`, qty: 1 })) }],
      ['an unknown field', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: 1 }], coupon: 'FREE' }],
      ['an unknown field in a line', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: 1, price: 3 }] }],
      ['ttlSeconds 0', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: 1 }], ttlSeconds: 0 }],
      ['ttlSeconds 3601', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: 1 }], ttlSeconds: 3601 }],
      ['allowPartial as a string', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: 1 }], allowPartial: 'yes' }],
      ['a missing userId', { orderId: 'o', items: [{ sku: 'x', qty: 1 }] }],
      ['an empty Idempotency-Key', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: 1 }] }, { 'idempotency-key': '' }],
      ['a 256-character Idempotency-Key', { userId: 'u', orderId: 'o', items: [{ sku: 'x', qty: 1 }] }, { 'idempotency-key': 'k'.repeat(256) }],
    ];

    it.each(cases)('reserve with %s is 400 VALIDATION_FAILED', async (_name, body, headers) => {
      const payload = JSON.parse(JSON.stringify(body).replaceAll('"x"', JSON.stringify(sku)));
      const before = await rawCounters(ctx, sku);
      const response = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload, headers });
      expectErrorShape(response, 400, 'VALIDATION_FAILED');
      expect(await rawCounters(ctx, sku)).toEqual(before);
    });

    it('merged lines over 10000 units are refused', async () => {
      const before = await rawCounters(ctx, sku);
      const response = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: reserveBody({ items: [{ sku, qty: 6000 }, { sku, qty: 5000 }] }) });
      expectErrorShape(response, 400, 'VALIDATION_FAILED');
      expect(await rawCounters(ctx, sku)).toEqual(before);
    });

    it('malformed JSON, a wrong content type and a body over the limit are refused in the error shape', async () => {
      const before = await rawCounters(ctx, sku);
      expectErrorShape(await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers: json, payload: '{"userId":' }), 400, 'INVALID_JSON');
      expectErrorShape(await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers: { 'content-type': 'text/plain' }, payload: 'hi' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      const huge = JSON.stringify(reserveBody({ orderId: 'o'.repeat(70_000) }));
      expectErrorShape(await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers: json, payload: huge }), 413, 'PAYLOAD_TOO_LARGE');
      expect(await rawCounters(ctx, sku)).toEqual(before);
    });

    it('bad path parameters and query strings are 400; unknown routes 404', async () => {
      expectErrorShape(await ctx.app.inject({ method: 'GET', url: '/v1/skus/%7Bx%7D' }), 400, 'VALIDATION_FAILED');
      expectErrorShape(await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${'r'.repeat(65)}` }), 400, 'VALIDATION_FAILED');
      expectErrorShape(await ctx.app.inject({ method: 'GET', url: `/v1/admin/skus/${sku}/movements?limit=0`, headers: adminHeaders }), 400, 'VALIDATION_FAILED');
      expectErrorShape(await ctx.app.inject({ method: 'GET', url: '/v1/nothing-here' }), 404, 'NOT_FOUND');
      expectErrorShape(await ctx.app.inject({ method: 'POST', url: `/v1/reservations/abc/extend`, payload: { ttlSeconds: 10, extra: 1 } }), 400, 'VALIDATION_FAILED');
    });

    it('admin input: bad totals, windows, deltas and reasons are 400 and change nothing', async () => {
      const before = await rawCounters(ctx, sku);
      const put = (body: object) => ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: body });
      const adjust = (body: object) => ctx.app.inject({ method: 'POST', url: `/v1/admin/skus/${sku}/adjust`, headers: adminHeaders, payload: body });
      for (const body of [{ total: -1 }, { total: 1.5 }, {}, { total: 5, color: 'red' }, { total: 5, startsAt: 'tomorrow' }, { total: 5, startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }, { total: 5, perUserLimit: 0 }]) {
        expectErrorShape(await put(body), 400, 'VALIDATION_FAILED');
      }
      for (const body of [{ delta: 0, reason: 'x' }, { delta: 1 }, { delta: 1, reason: '' }, { delta: 1, reason: 'r'.repeat(501) }, { delta: '1', reason: 'x' }, { delta: 1, reason: 'nul\u0000byte' }]) {
        expectErrorShape(await adjust(body), 400, 'VALIDATION_FAILED');
      }
      expect(await rawCounters(ctx, sku)).toEqual(before);
    });
  });

  describe('admin routes', () => {
    it('need the bearer token', async () => {
      const url = `/v1/admin/skus/${sku}`;
      expectErrorShape(await ctx.app.inject({ method: 'PUT', url, payload: { total: 1 } }), 401, 'UNAUTHORIZED');
      expectErrorShape(await ctx.app.inject({ method: 'PUT', url, payload: { total: 1 }, headers: { authorization: 'Bearer wrong' } }), 401, 'UNAUTHORIZED');
    });

    it('PUT creates (201) then updates (200); TOTAL_BELOW_COMMITTED guards sold units; adjust moves total', async () => {
      const name = uniqueName('admin-');
      const put = (body: object) => ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${name}`, headers: adminHeaders, payload: body });
      expect((await put({ total: 3 })).statusCode).toBe(201);
      const window = { total: 4, perUserLimit: 1, startsAt: '2020-01-01T00:00:00.000Z', endsAt: '2099-01-01T00:00:00.000Z' };
      const updated = await put(window);
      expect(updated.statusCode).toBe(200);
      expect(updated.json()).toEqual({ sku: name, available: 4, reserved: 0, sold: 0, ...window, locations: [{ location: 'default', active: true, total: 4, available: 4, reserved: 0, sold: 0 }], line: null });
      await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'a', orderId: 'b', items: [{ sku: name, qty: 1 }] } });
      expectErrorShape(await put({ total: 0 }), 409, 'TOTAL_BELOW_COMMITTED');
      const adjusted = await ctx.app.inject({ method: 'POST', url: `/v1/admin/skus/${name}/adjust`, headers: adminHeaders, payload: { delta: -3, reason: 'damaged in warehouse' } });
      expect(adjusted.json()).toMatchObject({ total: 1, available: 0, reserved: 1 });
      const tooMuch = await ctx.app.inject({ method: 'POST', url: `/v1/admin/skus/${name}/adjust`, headers: adminHeaders, payload: { delta: -1, reason: 'lost' } });
      expectErrorShape(tooMuch, 409, 'INSUFFICIENT_STOCK');
    });
  });

  describe('client token', () => {
    it('when API_TOKEN is set, client routes demand it', async () => {
      const guarded = await createTestContext({ redis, env: { API_TOKEN: 'client-secret' } });
      try {
        expectErrorShape(await guarded.app.inject({ method: 'GET', url: '/v1/skus/x' }), 401, 'UNAUTHORIZED');
        const ok = await guarded.app.inject({ method: 'GET', url: '/v1/skus/x', headers: { authorization: 'Bearer client-secret' } });
        expectErrorShape(ok, 404, 'SKU_NOT_FOUND');
        expect((await guarded.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
        // The admin token opens them too (the dashboard follows /v1/events with it); another does not.
        expectErrorShape(await guarded.app.inject({ method: 'GET', url: '/v1/skus/x', headers: adminHeaders }), 404, 'SKU_NOT_FOUND');
        expectErrorShape(await guarded.app.inject({ method: 'GET', url: '/v1/skus/x', headers: { authorization: 'Bearer guess' } }), 401, 'UNAUTHORIZED');
      } finally {
        await guarded.close();
      }
    });
  });

  describe('operations', () => {
    it('health, readiness, metrics', async () => {
      expect((await ctx.app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
      expect((await ctx.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
      const metrics = await ctx.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.headers['content-type']).toContain('text/plain');
      for (const series of ['flashsale_reservations_total{outcome="created"}', 'flashsale_reserve_duration_seconds_bucket', 'flashsale_reservation_finishes_total{type="commit"}', 'flashsale_reconcile_runs_total', 'flashsale_drift_fields']) {
        expect(metrics.body).toContain(series);
      }
      // The walk-through committed once and repeated the commit: counted once.
      expect(metrics.body).toContain('flashsale_reservation_finishes_total{type="commit"} 1\n');
    });

    it('METRICS_TOKEN guards /metrics (the admin token opens it too); METRICS_PER_SKU=off drops the per-SKU gauges', async () => {
      const sku = uniqueName('m-');
      await createSku(ctx, sku, { total: 4 });
      // A lined SKU: one ticket admitted, one waiting.
      const lined = uniqueName('m-lined-');
      await createSku(ctx, lined, { total: 1, line: { holdTtlSeconds: 60 } });
      for (const userId of ['a', 'b']) await ctx.app.inject({ method: 'POST', url: `/v1/skus/${lined}/line`, payload: { userId, qty: 1 } });
      const perSku = (await ctx.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(perSku).toContain(`flashsale_sku_units{sku="${sku}",state="available"} 4`);
      expect(perSku).toContain(`flashsale_line_waiting{sku="${lined}"} 1\n`);
      expect(perSku).toContain(`flashsale_line_admitted_total{sku="${lined}"} 1\n`);
      expect(perSku).toContain('flashsale_line_joins_total{outcome="joined"}');
      // A SKU without a line has no line series.
      expect(perSku).not.toContain(`flashsale_line_waiting{sku="${sku}"}`);
      const guarded = await createTestContext({ redis, env: { METRICS_TOKEN: 'scrape-secret', METRICS_PER_SKU: 'off' } });
      try {
        await createSku(guarded, sku, { total: 4 });
        await createSku(guarded, lined, { total: 1, line: { holdTtlSeconds: 60 } });
        await guarded.app.inject({ method: 'POST', url: `/v1/skus/${lined}/line`, payload: { userId: 'a', qty: 1 } });
        expectErrorShape(await guarded.app.inject({ method: 'GET', url: '/metrics' }), 401, 'UNAUTHORIZED');
        expectErrorShape(await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer guess' } }), 401, 'UNAUTHORIZED');
        for (const authorization of ['Bearer scrape-secret', adminHeaders.authorization]) {
          const scrape = await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization } });
          expect(scrape.statusCode).toBe(200);
          expect(scrape.body).toContain('flashsale_reservations_total');
          expect(scrape.body).not.toContain('flashsale_sku_units{');
          expect(scrape.body).not.toContain('flashsale_line_waiting{');
          expect(scrape.body).not.toContain('flashsale_line_admitted_total{');
        }
        expect((await guarded.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      } finally {
        await guarded.close();
      }
    });

    it('serves the dashboard page and its files, with a policy that keeps it to this engine', async () => {
      const page = await ctx.app.inject({ method: 'GET', url: '/dashboard' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.body).toContain('<script type="module" src="/dashboard/main.js">');
      const script = await ctx.app.inject({ method: 'GET', url: '/dashboard/main.js' });
      expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
      // Only the folder's own files: no path from the URL reaches the disk.
      for (const url of ['/dashboard/nope.js', '/dashboard/..%2Fpackage.json', '/dashboard/../package.json']) {
        expect((await ctx.app.inject({ method: 'GET', url })).statusCode).toBe(404);
      }
    });

    it('serves the OpenAPI document generated from the route schemas, and the docs page', async () => {
      const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      expect(doc.openapi).toMatch(/^3\./);
      const reserve = doc.paths['/v1/reservations'].post;
      expect(reserve.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
      expect(Object.keys(reserve.responses)).toEqual(expect.arrayContaining(['201', '409', '422', '503']));
      expect(doc.paths['/v1/admin/skus/{sku}'].put).toBeDefined();
      // Every tag a route names is listed with a description; the waiting lines have theirs.
      const named = new Set(Object.values(doc.paths).flatMap((operations) => Object.values(operations as Record<string, { tags?: string[] }>).flatMap((operation) => operation.tags ?? [])));
      expect(doc.tags.map((tag: { name: string }) => tag.name).sort()).toEqual([...named].sort());
      for (const tag of doc.tags) expect(tag.description, tag.name).toMatch(/\w/);
      const lineRoutes = Object.entries(doc.paths).flatMap(([path, operations]) =>
        Object.entries(operations as Record<string, { tags?: string[] }>)
          .filter(([, operation]) => operation.tags?.includes('lines'))
          .map(([method]) => `${method} ${path}`),
      );
      expect(lineRoutes.sort()).toEqual(['delete /v1/line-tickets/{id}', 'get /v1/events', 'get /v1/line-tickets/{id}', 'post /v1/skus/{sku}/line']);
      expect(doc.paths['/v1/events'].get.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(['skus', 'tickets']);
      const page = await ctx.app.inject({ method: 'GET', url: '/docs' });
      expect([200, 302]).toContain(page.statusCode);
    });
  });
});

describe('the SKU list (admin)', () => {
  it('pages every SKU in name order with its live view, and filters by a part of the name', async () => {
    const ctx = await createTestContext();
    try {
      const prefix = uniqueName('list-');
      const names = ['c', 'a', 'e', 'b', 'd'].map((letter) => `${prefix}-${letter}`);
      for (const name of names) await createSku(ctx, name, { total: 3 });
      await createSku(ctx, uniqueName('other-'), { total: 1 });
      await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u-1', items: [{ sku: `${prefix}-b`, qty: 2 }] } });
      const list = (query: string) => ctx.app.inject({ method: 'GET', url: `/v1/admin/skus?${query}`, headers: adminHeaders });

      const pages: string[][] = [];
      let after = '';
      for (;;) {
        const page = (await list(`q=${prefix.toUpperCase()}&limit=2${after ? `&after=${after}` : ''}`)).json();
        pages.push(page.items.map((view: { sku: string }) => view.sku));
        if (!page.next) break;
        after = page.next;
      }
      expect(pages).toEqual([[`${prefix}-a`, `${prefix}-b`], [`${prefix}-c`, `${prefix}-d`], [`${prefix}-e`]]);
      const all = (await list('limit=500')).json();
      expect(all.items).toHaveLength(6);
      expect(all.next).toBeNull();
      expect(all.items.find((view: { sku: string }) => view.sku === `${prefix}-b`)).toMatchObject({ total: 3, available: 1, reserved: 2, sold: 0 });
      expect((await list('q=%25')).statusCode).toBe(400);
      expect((await list('limit=0')).statusCode).toBe(400);
      expectErrorShape(await ctx.app.inject({ method: 'GET', url: '/v1/admin/skus' }), 401, 'UNAUTHORIZED');
    } finally {
      await ctx.close();
    }
  });
});

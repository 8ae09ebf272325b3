import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { pruneEvents } from '../../src/db/webhookRepository';
import { WEBHOOK_EVENT_TYPES, retryDelayMs } from '../../src/domain/webhooks';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher';
import { verifySignature } from '../../src/webhooks/signature';
import { adminHeaders, createTestContext, createTestDatabase, type DatabaseTarget, type TestContext, uniqueName } from '../support/context';
import { ENGINE_ADMIN, removeEngineDirs, startEngine } from '../support/engineProcess';
import { call, expectErrorShape } from '../support/http';
import { type Received, startReceiver, type WebhookReceiver } from '../support/webhookReceiver';

/**
 * Webhooks end to end: endpoints registered through the admin API, events recorded by the drain
 * on a real Postgres (and PGlite), delivered by the dispatcher to receivers on loopback, which
 * WEBHOOK_ALLOW_PRIVATE lets through (test/webhooks/public-addresses.test.ts checks the refusals).
 */

const SECRET = 'whsec-test-0123456789abcdef';
const fastRetries = { timeoutMs: 2000, retryBaseMs: 100, retryForMs: 60_000, pollMs: 50, allowPrivate: true };

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(removeEngineDirs);

async function setUp(database: DatabaseTarget = 'postgres', dispatcher: Partial<typeof fastRetries> = {}) {
  const ctx = await createTestContext({ database, env: { WEBHOOK_ALLOW_PRIVATE: 'on' } });
  closers.push(() => ctx.close());
  const webhooks = new WebhookDispatcher(ctx.db, { ...fastRetries, ...dispatcher }).start();
  closers.push(() => webhooks.stop());
  return ctx;
}

async function receiver(answer?: Parameters<typeof startReceiver>[0]): Promise<WebhookReceiver> {
  const started = await startReceiver(answer);
  closers.push(() => started.close());
  return started;
}

const putEndpoint = (ctx: TestContext, id: string, body: Record<string, unknown>) =>
  ctx.app.inject({ method: 'PUT', url: `/v1/admin/webhooks/${id}`, headers: adminHeaders, payload: body });

const reserve = (ctx: TestContext, sku: string, userId = uniqueName('u-')) =>
  ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId, items: [{ sku, qty: 1 }] } });

const drain = (ctx: TestContext) => ctx.reconciler.run('api');

const deliveries = async (ctx: TestContext, id: string) =>
  (await ctx.app.inject({ method: 'GET', url: `/v1/admin/webhooks/${id}/deliveries`, headers: adminHeaders })).json().items;

const ofType = (received: Received[], type: string) => received.filter((r) => r.event.type === type);

describe.each(['postgres', 'pglite'] as const)('webhooks on %s', (database) => {
  it('delivers every event once, signed, in order per reservation, from what Postgres recorded', async () => {
    const ctx = await setUp(database);
    const hooks = await receiver();
    expect((await putEndpoint(ctx, 'everything', { url: hooks.url, events: [...WEBHOOK_EVENT_TYPES], secret: SECRET })).statusCode).toBe(201);
    const sku = uniqueName('sku-');
    await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: { total: 2 } });
    await drain(ctx);

    const first = (await reserve(ctx, sku)).json();
    await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${first.id}/commit` });
    const second = (await reserve(ctx, sku)).json();
    // Sold out: refused, so nothing happened and nothing is told.
    expect((await reserve(ctx, sku)).statusCode).toBe(409);
    await drain(ctx);
    await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${second.id}/release` });
    await drain(ctx);

    await hooks.waitFor((got) => ofType(got, 'stock.back_in_stock').length === 1 && ofType(got, 'reservation.released').length === 1);
    await drain(ctx);
    await sleep(300);
    const got = hooks.received;
    const types = got.map((r) => r.event.type);
    expect(ofType(got, 'reservation.created').map((r) => r.event.data.id)).toEqual([first.id, second.id]);
    expect(ofType(got, 'reservation.committed').map((r) => r.event.data.id)).toEqual([first.id]);
    expect(ofType(got, 'reservation.released').map((r) => r.event.data.id)).toEqual([second.id]);
    expect(types.indexOf('reservation.created')).toBeLessThan(types.indexOf('reservation.committed'));
    expect(types.indexOf('stock.sold_out')).toBeLessThan(types.indexOf('stock.back_in_stock'));
    expect(ofType(got, 'stock.sold_out')).toHaveLength(1);
    // Once each: a later pass over the same facts records nothing new.
    expect(new Set(got.map((r) => r.event.id)).size).toBe(got.length);

    for (const delivery of got) {
      expect(verifySignature(SECRET, delivery.headers['flashsale-signature'] as string, delivery.rawBody)).toBe(true);
      expect(verifySignature('another-secret-0123456789', delivery.headers['flashsale-signature'] as string, delivery.rawBody)).toBe(false);
      expect(verifySignature(SECRET, delivery.headers['flashsale-signature'] as string, delivery.rawBody.replace('}', ' }'))).toBe(false);
      expect(Object.keys(delivery.event)).toEqual(['id', 'type', 'createdAt', 'data']);
    }
    const committed = ofType(got, 'reservation.committed')[0].event;
    expect(committed.data).toMatchObject({ id: first.id, status: 'COMMITTED', userId: first.userId, items: [{ sku, qty: 1, reserved: 1 }] });
    expect(ofType(got, 'reservation.created')[0].event.data.status).toBe('PENDING');
    const soldOut = ofType(got, 'stock.sold_out')[0].event.data;
    expect(soldOut).toMatchObject({ sku, total: 2, available: 0, reserved: 1, sold: 1 });
    expect(soldOut.locations).toEqual([{ location: 'default', active: true, total: 2, available: 0, reserved: 1, sold: 1 }]);
    expect(ofType(got, 'stock.back_in_stock')[0].event.data).toMatchObject({ sku, available: 1, sold: 1, reserved: 0 });

    const listed = await deliveries(ctx, 'everything');
    expect(listed).toHaveLength(got.length);
    for (const item of listed) {
      expect(item.state).toBe('DELIVERED');
      expect(item.attempts).toEqual([expect.objectContaining({ attempt: 1, statusCode: 200, error: null })]);
    }
  });

  it('line.admitted and line.sold_out: once per ticket, the admitted hold told first, from what Postgres recorded', async () => {
    const ctx = await setUp(database);
    const hooks = await receiver();
    const lineTypes = ['line.admitted', 'line.sold_out'];
    await putEndpoint(ctx, 'lines', { url: hooks.url, events: [...lineTypes, 'reservation.created'], secret: SECRET });
    // An endpoint that listens to something else is told nothing of the line.
    const others = await receiver();
    await putEndpoint(ctx, 'others', { url: others.url, events: ['reservation.committed'], secret: SECRET });
    const sku = uniqueName('lined-');
    await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: { total: 1, line: { holdTtlSeconds: 60 } } });
    const join = async (userId: string, orderId?: string) =>
      (await ctx.app.inject({ method: 'POST', url: `/v1/skus/${sku}/line`, payload: { userId, qty: 1, orderId } })).json();
    const [first, second, third] = [await join('first', 'o-1'), await join('second'), await join('third')];
    expect([first.status, second.status, third.status]).toEqual(['ADMITTED', 'WAITING', 'WAITING']);
    await drain(ctx);
    // first lets go: second is admitted; second buys the last unit: third can never be served.
    await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${first.id}/release` });
    await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${second.id}/commit` });
    await drain(ctx);
    await hooks.waitFor((got) => got.filter((r) => lineTypes.includes(r.event.type)).length === 3);
    await drain(ctx);
    await sleep(300);

    const got = hooks.received;
    expect(ofType(got, 'line.admitted').map((r) => r.event.data.id)).toEqual([first.id, second.id]);
    expect(ofType(got, 'line.sold_out').map((r) => r.event.data.id)).toEqual([third.id]);
    expect(new Set(got.map((r) => r.event.id)).size).toBe(got.length);
    const admitted = ofType(got, 'line.admitted')[0].event;
    expect(admitted.data).toEqual({
      id: first.id,
      sku,
      userId: 'first',
      qty: 1,
      orderId: 'o-1',
      status: 'ADMITTED',
      reservationId: first.id,
      joinedAt: first.joinedAt,
      admittedAt: first.reservation.createdAt,
      endedAt: null,
    });
    expect(admitted.createdAt).toBe(first.reservation.createdAt);
    const soldOut = ofType(got, 'line.sold_out')[0].event.data;
    expect(soldOut).toMatchObject({ id: third.id, userId: 'third', orderId: null, status: 'SOLD_OUT', reservationId: null, admittedAt: null });
    expect(Date.parse(soldOut.endedAt)).toBeGreaterThanOrEqual(Date.parse(soldOut.joinedAt));
    // An admitted ticket's hold is told before its admission: both have the ticket's id.
    for (const ticket of [first, second]) {
      const told = got.filter((r) => r.event.data.id === ticket.id).map((r) => r.event.type);
      expect(told).toEqual(['reservation.created', 'line.admitted']);
    }
    for (const delivery of got) expect(verifySignature(SECRET, delivery.headers['flashsale-signature'] as string, delivery.rawBody)).toBe(true);
    await others.waitFor((received) => received.length === 1);
    expect(others.received.map((r) => r.event.type)).toEqual(['reservation.committed']);
  });
});

describe('webhook endpoints (admin API)', () => {
  it('creates, replaces, lists and deletes endpoints, and never shows a secret', async () => {
    const ctx = await setUp();
    const hooks = await receiver();
    const created = await putEndpoint(ctx, 'orders', { url: hooks.url, events: ['reservation.committed'], secret: SECRET });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({ id: 'orders', url: hooks.url, events: ['reservation.committed'], createdAt: expect.any(String), updatedAt: expect.any(String) });
    // Replaced without a secret: the stored one still signs.
    const replaced = await putEndpoint(ctx, 'orders', { url: hooks.url, events: ['reservation.created'] });
    expect(replaced.statusCode).toBe(200);
    const list = await ctx.app.inject({ method: 'GET', url: '/v1/admin/webhooks', headers: adminHeaders });
    expect(list.json().items).toEqual([replaced.json()]);
    expect(list.body).not.toContain(SECRET);
    const sku = uniqueName('sku-');
    await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: { total: 5 } });
    await reserve(ctx, sku);
    await drain(ctx);
    await hooks.waitFor((got) => got.length === 1);
    expect(hooks.received[0].event.type).toBe('reservation.created');
    expect(verifySignature(SECRET, hooks.received[0].headers['flashsale-signature'] as string, hooks.received[0].rawBody)).toBe(true);
    expect(JSON.stringify(await deliveries(ctx, 'orders'))).not.toContain(SECRET);

    expect((await ctx.app.inject({ method: 'DELETE', url: '/v1/admin/webhooks/orders', headers: adminHeaders })).statusCode).toBe(204);
    expectErrorShape(await ctx.app.inject({ method: 'DELETE', url: '/v1/admin/webhooks/orders', headers: adminHeaders }), 404, 'WEBHOOK_NOT_FOUND');
    expectErrorShape(await ctx.app.inject({ method: 'GET', url: '/v1/admin/webhooks/orders/deliveries', headers: adminHeaders }), 404, 'WEBHOOK_NOT_FOUND');
    expect((await ctx.app.inject({ method: 'GET', url: '/v1/admin/webhooks', headers: adminHeaders })).json().items).toEqual([]);
  });

  it('refuses bad input with 400 and writes nothing', async () => {
    const ctx = await setUp();
    const good = { url: 'https://shop.example/hooks', events: ['stock.sold_out'], secret: SECRET };
    const bad: [string, Record<string, unknown>][] = [
      ['orders', { ...good, secret: undefined }],
      ['orders', { ...good, secret: 'short' }],
      ['orders', { ...good, url: 'ftp://shop.example/hooks' }],
      ['orders', { ...good, url: 'https://user:pass@shop.example/hooks' }],
      ['orders', { ...good, url: 'https://' }],
      ['orders', { ...good, events: [] }],
      ['orders', { ...good, events: ['stock.sold_out', 'stock.sold_out'] }],
      ['orders', { ...good, events: ['order.shipped'] }],
      ['orders', { ...good, extra: true }],
      ['bad{id}', good],
    ];
    for (const [id, body] of bad) expectErrorShape(await putEndpoint(ctx, encodeURIComponent(id), body), 400, 'VALIDATION_FAILED');
    expect((await ctx.app.inject({ method: 'GET', url: '/v1/admin/webhooks', headers: adminHeaders })).json().items).toEqual([]);
    expectErrorShape(await ctx.app.inject({ method: 'GET', url: '/v1/admin/webhooks' }), 401, 'UNAUTHORIZED');
    expectErrorShape(await putEndpoint(ctx, 'orders', good).then(() => ctx.app.inject({ method: 'GET', url: '/v1/admin/webhooks/orders/deliveries?limit=0', headers: adminHeaders })), 400, 'VALIDATION_FAILED');
  });
});

describe('webhook retries', () => {
  it('sends an event answered 500 again, with the same id, until a 2xx; every attempt is listed', async () => {
    const ctx = await setUp();
    const hooks = await receiver((delivery, earlier) => (earlier.some((e) => e.event.id === delivery.event.id) ? 200 : 500));
    await putEndpoint(ctx, 'flaky', { url: hooks.url, events: ['reservation.created'], secret: SECRET });
    const sku = uniqueName('sku-');
    await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: { total: 5 } });
    const held = (await reserve(ctx, sku)).json();
    await drain(ctx);
    await hooks.waitFor((got) => got.length === 2);
    const [first, again] = hooks.received;
    expect(again.event).toEqual(first.event);
    expect(first.event.data.id).toBe(held.id);
    const [item] = await deliveries(ctx, 'flaky');
    await expect.poll(async () => (await deliveries(ctx, 'flaky'))[0].state).toBe('DELIVERED');
    const listed = (await deliveries(ctx, 'flaky'))[0];
    expect(item.eventId).toBe(first.event.id);
    expect(listed.attempts.map((a: { statusCode: number; error: string | null }) => [a.statusCode, a.error])).toEqual([
      [500, 'answered HTTP 500'],
      [200, null],
    ]);
  });

  it('a receiver that hangs holds up only itself', async () => {
    const ctx = await setUp('postgres', { timeoutMs: 4000 });
    const stuck = await receiver(() => 'hang');
    const prompt = await receiver();
    await putEndpoint(ctx, 'stuck', { url: stuck.url, events: ['reservation.created'], secret: SECRET });
    await putEndpoint(ctx, 'prompt', { url: prompt.url, events: ['reservation.created'], secret: SECRET });
    const sku = uniqueName('sku-');
    await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: { total: 5 } });
    for (let n = 0; n < 3; n++) await reserve(ctx, sku);
    await drain(ctx);
    await stuck.waitFor((got) => got.length === 1);
    const hangingSince = Date.now();
    await prompt.waitFor((got) => got.length === 3, 3000);
    // All three went out while the stuck receiver's first attempt was still waiting for an answer.
    expect(Date.now() - hangingSince).toBeLessThan(4000);
    expect(stuck.received).toHaveLength(1);
    await expect.poll(async () => (await deliveries(ctx, 'stuck')).flatMap((d: { attempts: unknown[] }) => d.attempts), { timeout: 8000 }).toEqual([
      expect.objectContaining({ attempt: 1, statusCode: null, error: 'no answer within 4000 ms' }),
    ]);
  });

  it('old events are pruned once none of their deliveries is pending', async () => {
    const ctx = await setUp();
    const ok = await receiver();
    const down = await receiver(() => 503);
    await putEndpoint(ctx, 'ok', { url: ok.url, events: ['reservation.created'], secret: SECRET });
    await putEndpoint(ctx, 'down', { url: down.url, events: ['reservation.created'], secret: SECRET });
    const sku = uniqueName('sku-');
    await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: { total: 5 } });
    await reserve(ctx, sku);
    await drain(ctx);
    await ok.waitFor((got) => got.length === 1);
    await down.waitFor((got) => got.length >= 1);
    const later = new Date(Date.now() + 60_000);
    // Still being retried to one endpoint: kept.
    expect(await pruneEvents(ctx.db, later)).toBe(0);
    expect(await deliveries(ctx, 'ok')).toHaveLength(1);
    await ctx.app.inject({ method: 'DELETE', url: '/v1/admin/webhooks/down', headers: adminHeaders });
    expect(await pruneEvents(ctx.db, new Date(Date.now() - 60_000))).toBe(0);
    expect(await pruneEvents(ctx.db, later)).toBe(1);
    expect(await deliveries(ctx, 'ok')).toEqual([]);
  });

  it('the retry delay doubles per failure, is jittered, and is capped at an hour', () => {
    expect(retryDelayMs(1, 1000, 0)).toBe(500);
    expect(retryDelayMs(1, 1000, 0.999999)).toBe(1000);
    expect(retryDelayMs(4, 1000, 0)).toBe(4000);
    expect(retryDelayMs(40, 1000, 0.5)).toBe(2_700_000);
  });

  it('an engine killed between attempts resumes them when it is started again', async () => {
    const database = await createTestDatabase();
    closers.push(() => database.drop());
    let healthy = false;
    const hooks = await receiver(() => (healthy ? 200 : 500));
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: inject('redisUrl'),
      KEY_PREFIX: uniqueName('t'),
      WORKERS: '1',
      WEBHOOK_ALLOW_PRIVATE: 'on',
      RECONCILE_CRON: '* * * * * *',
      WEBHOOK_RETRY_BASE_MS: '4000',
      // A retry the killed engine had already claimed comes back when its lease (timeout + 30 s) lapses.
      WEBHOOK_TIMEOUT_MS: '2000',
    };
    const engine = await startEngine(env);
    const headers = { ...ENGINE_ADMIN };
    expect((await call(engine.base, 'PUT', '/v1/admin/webhooks/orders', { url: hooks.url, events: ['reservation.created'], secret: SECRET }, headers)).status).toBe(201);
    const sku = uniqueName('sku-');
    await call(engine.base, 'PUT', `/v1/admin/skus/${sku}`, { total: 3 }, headers);
    const held = (await call(engine.base, 'POST', '/v1/reservations', { userId: 'u-1', items: [{ sku, qty: 1 }] })).body;
    const listed = async (base: string) => (await call(base, 'GET', '/v1/admin/webhooks/orders/deliveries', undefined, headers)).body.items;
    await expect.poll(async () => (await listed(engine.base))[0]?.attempts.length ?? 0, { timeout: 15_000 }).toBe(1);
    engine.child.kill('SIGKILL');
    await engine.exited;

    healthy = true;
    const restarted = await startEngine(env);
    closers.push(async () => {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    });
    // On a loaded machine the kill may come after the engine claimed the retry: then it waits out the lease.
    await hooks.waitFor((got) => got.length >= 2, 50_000);
    expect(new Set(hooks.received.map((r) => r.event.id))).toEqual(new Set([hooks.received[0].event.id]));
    expect(hooks.received[0].event.data.id).toBe(held.id);
    await expect.poll(async () => (await listed(restarted.base))[0].state, { timeout: 10_000 }).toBe('DELIVERED');
    const [item] = await listed(restarted.base);
    expect(item.attempts[0]).toMatchObject({ attempt: 1, statusCode: 500 });
    expect(item.attempts.at(-1)).toMatchObject({ statusCode: 200, error: null });
  }, 120_000);
});

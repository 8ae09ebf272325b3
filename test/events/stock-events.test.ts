/**
 * GET /v1/events (Server-Sent Events) with a real HTTP client against listening engines: current
 * views first, every change after, coalesced to 10 per second per SKU, sold-out and back-in-stock
 * in order, a second engine process seeing changes made through the first, a client that stops
 * reading cut off instead of buffered without bound, and streams ended on shutdown.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_TARGETS, type TestContext, adminHeaders, createSku, createTestContext, createTwoEngines, uniqueName } from '../support/context';
import { type Stream, openStream as openQuery } from '../support/eventStream';
import { expectErrorShape } from '../support/http';

const openStream = (baseUrl: string, skus: string[]): Promise<Stream> => openQuery(baseUrl, `skus=${skus.join(',')}`);

describe.each(REDIS_TARGETS)('live stock events on %s Redis', (redis) => {
  let ctx: TestContext;
  let other: TestContext;
  let close = async () => {};
  beforeAll(async () => ({ ctx, other, close } = await createTwoEngines(redis)));
  afterAll(() => close());

  const reserve = (sku: string, qty = 1, userId = 'u1') =>
    ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId, items: [{ sku, qty }] } }).then((r) => r.json());

  it('answers current views first, then each change; sold_out and back_in_stock in order', async () => {
    const [a, b] = [uniqueName('ev-'), uniqueName('ev-')];
    await createSku(ctx, a, { total: 2 });
    await createSku(ctx, b, { locations: [{ location: 'north', total: 1 }, { location: 'south', total: 4 }] });
    const stream = await openStream(ctx.baseUrl, [a, b]);
    const initial = await stream.waitFor(2);
    expect(initial.map((e) => [e.name, e.data.sku, e.data.available])).toEqual([
      ['stock', a, 2],
      ['stock', b, 5],
    ]);
    expect(initial[1].data.locations.map((l: any) => l.location)).toEqual(['north', 'south']);

    const first = await reserve(a);
    await stream.waitFor(3);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = await reserve(a);
    await stream.waitFor(4);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${second.id}/release` });
    await stream.waitFor(5);
    expect(stream.events.slice(2).map((e) => [e.name, e.data.available, e.data.reserved])).toEqual([
      ['stock', 1, 1],
      ['sold_out', 0, 2],
      ['back_in_stock', 1, 1],
    ]);
    await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${first.id}/commit` });
    const [committed] = (await stream.waitFor(6)).slice(5);
    expect(committed.data).toMatchObject({ sku: a, available: 1, reserved: 0, sold: 1 });
    stream.close();
  });

  it('a burst of changes reaches a stream as at most 10 events per second, the latest view last', async () => {
    const sku = uniqueName('burst-');
    await createSku(ctx, sku, { total: 1000 });
    const stream = await openStream(ctx.baseUrl, [sku]);
    await stream.waitFor(1);
    const started = Date.now();
    await Promise.all(Array.from({ length: 300 }, (_, n) => reserve(sku, 1, `u${n}`)));
    const elapsed = Date.now() - started;
    // The last change arrives within one interval after the burst.
    const deadline = Date.now() + 2000;
    while (stream.events[stream.events.length - 1].data.reserved !== 300 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const changes = stream.events.slice(1);
    expect(changes[changes.length - 1].data).toMatchObject({ available: 700, reserved: 300 });
    expect(changes.length).toBeLessThanOrEqual(Math.ceil((elapsed + 200) / 100) + 1);
    expect(changes.length).toBeLessThan(300);
    for (let n = 1; n < changes.length; n++) expect(changes[n].data.reserved).toBeGreaterThan(changes[n - 1].data.reserved);
    stream.close();
  });

  it('a second engine process streams the changes made through the first', async () => {
    const sku = uniqueName('two-');
    await createSku(ctx, sku, { total: 5 });
    const stream = await openStream(other.baseUrl, [sku]);
    await stream.waitFor(1);
    await reserve(sku, 2);
    const [, change] = await stream.waitFor(2);
    expect(change.data).toMatchObject({ sku, available: 3, reserved: 2 });
    // A PUT through the first carries the new settings to the second's watchers.
    await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: { total: 9, perUserLimit: 3 } });
    const [, , put] = await stream.waitFor(3);
    expect(put.data).toMatchObject({ total: 9, available: 7, perUserLimit: 3 });
    stream.close();
  });

  it('refuses a bad list of SKUs before streaming: 400 for a bad identifier or more than 100, 404 for an unknown SKU', async () => {
    const get = (skus: string) => ctx.app.inject({ method: 'GET', url: `/v1/events?skus=${encodeURIComponent(skus)}` });
    expectErrorShape(await get('a{b'), 400, 'VALIDATION_FAILED');
    expectErrorShape(await get(Array.from({ length: 101 }, (_, n) => `s${n}`).join(',')), 400, 'VALIDATION_FAILED');
    expectErrorShape(await ctx.app.inject({ method: 'GET', url: '/v1/events' }), 400, 'VALIDATION_FAILED');
    const missing = await get(uniqueName('nope-'));
    expectErrorShape(missing, 404, 'SKU_NOT_FOUND');
  });
});

describe('live stock events: a client that stops reading, and shutdown', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ listen: true });
  });
  afterAll(() => ctx?.close());

  it('a client that never reads is cut off once 256 KiB wait for it; other streams go on', async () => {
    // 100 SKUs of 50 locations each: every event is several KiB, so the socket buffers fill fast.
    const locations = Array.from({ length: 50 }, (_, n) => ({ location: `warehouse-number-${n}`, total: 1_000_000 }));
    const skus = Array.from({ length: 100 }, () => uniqueName('slow-'));
    for (const sku of skus) await createSku(ctx, sku, { locations });
    const { port } = new URL(ctx.baseUrl);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /v1/events?skus=${skus.join(',')} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    socket.pause();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const reader = await openStream(ctx.baseUrl, [skus[0]]);
    await reader.waitFor(1);

    let cutOff = false;
    void closed.then(() => (cutOff = true));
    const deadline = Date.now() + 20_000;
    for (let round = 0; !cutOff && Date.now() < deadline; round++) {
      await Promise.all(skus.map((sku) => ctx.engine.adjustStock(sku, 1, 'restock', 'test', locations[round % 50].location)));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(cutOff).toBe(true);
    // The stream that reads goes on receiving.
    const before = reader.events.length;
    for (let round = 0; round < 3; round++) {
      await ctx.engine.adjustStock(skus[0], 1, 'restock', 'test', locations[0].location);
      await reader.waitFor(before + round + 1);
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    reader.close();
    socket.destroy();
  });

  it('ends open streams when the engine shuts down', async () => {
    const own = await createTestContext({ listen: true });
    const sku = uniqueName('bye-');
    await createSku(own, sku, { total: 1 });
    const stream = await openStream(own.baseUrl, [sku]);
    await stream.waitFor(1);
    const started = Date.now();
    await own.close();
    await stream.ended;
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

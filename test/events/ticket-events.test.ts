/**
 * Waiting lines on GET /v1/events (Server-Sent Events), with a real HTTP client against listening
 * engines: `?tickets=` streams each ticket now, then when where it stands changes (at most once a
 * second), and at once when it is admitted or ends, after which it is watched no more; `?skus=`
 * streams the line counts with the SKU's view (a join, an admission and a leave each move it). A
 * second engine process streams what the first did; the lobby's shuffle at startsAt reaches a
 * stream though nobody calls the engine; refusals come before streaming.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_TARGETS, type TestContext, adminHeaders, createTwoEngines, uniqueName } from '../support/context';
import { type ServerEvent, openStream } from '../support/eventStream';
import { expectErrorShape } from '../support/http';

type Json = Record<string, any>;

describe.each(REDIS_TARGETS)('waiting lines on the events stream, %s Redis', (redis) => {
  let ctx: TestContext;
  let other: TestContext;
  let close = async () => {};
  beforeAll(async () => ({ ctx, other, close } = await createTwoEngines(redis)));
  afterAll(() => close());

  const send = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) => {
    const answer = await ctx.app.inject({ method, url, headers: adminHeaders, ...(payload ? { payload } : {}) });
    return answer.json() as Json;
  };
  const linedSku = async (total: number, extra: object = {}) => {
    const sku = uniqueName('lined-');
    await send('PUT', `/v1/admin/skus/${sku}`, { total, line: { holdTtlSeconds: 60 }, ...extra });
    return sku;
  };
  const join = (sku: string, userId: string, qty = 1) => send('POST', `/v1/skus/${sku}/line`, { userId, qty });
  const ticketEvents = (events: ServerEvent[], id: string) => events.filter((event) => event.name === 'ticket' && event.data.id === id);
  /** The event-stream gauges of one engine process (`other` unless told). */
  const gauges = async (engine = other) => {
    const text = (await engine.app.inject({ method: 'GET', url: '/metrics' })).body;
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    return { streams: gauge('flashsale_event_streams'), watchedSkus: gauge('flashsale_event_watched_skus'), watchedTickets: gauge('flashsale_event_watched_tickets') };
  };

  it('tickets now, then an admission at once, a new position, and SOLD_OUT; ended tickets are watched no more', async () => {
    const sku = await linedSku(1);
    const [first, second, third] = [await join(sku, 'first'), await join(sku, 'second'), await join(sku, 'third')];
    expect([first.status, second.status, third.status]).toEqual(['ADMITTED', 'WAITING', 'WAITING']);
    // The second engine process streams what the first one does.
    const stream = await openStream(other.baseUrl, `tickets=${first.id},${second.id},${third.id}`);
    const initial = await stream.waitFor(3);
    expect(initial.map((event) => [event.name, event.data.id, event.data.status, event.data.position])).toEqual([
      ['ticket', first.id, 'ADMITTED', null],
      ['ticket', second.id, 'WAITING', 1],
      ['ticket', third.id, 'WAITING', 2],
    ]);
    // The shape GET /v1/line-tickets/:id answers.
    expect(initial[2].data).toEqual(await send('GET', `/v1/line-tickets/${third.id}`));
    expect(await gauges()).toEqual({ streams: 1, watchedSkus: 1, watchedTickets: 2 });

    // first releases: second is admitted in the same step, and told at once; third moves up.
    const released = Date.now();
    await send('POST', `/v1/reservations/${first.id}/release`);
    const admitted = await stream.waitUntil((event) => event.data.id === second.id && event.data.status === 'ADMITTED');
    expect(admitted.at - released).toBeLessThan(800);
    expect(admitted.data.reservation).toMatchObject({ id: second.id, status: 'PENDING', items: [{ sku, qty: 1, reserved: 1 }] });
    const moved = await stream.waitUntil((event) => event.data.id === third.id && event.data.position === 1);
    expect(moved.data).toMatchObject({ status: 'WAITING', unitsAhead: 0 });

    // second buys the last unit: third can never be served, and is told so.
    await send('POST', `/v1/reservations/${second.id}/commit`);
    const soldOut = await stream.waitUntil((event) => event.data.id === third.id && event.data.status === 'SOLD_OUT');
    expect(soldOut.data).toMatchObject({ position: null, unitsLeft: 0 });
    // Nothing is watched any more, though the stream stays open.
    await expect.poll(() => gauges(), { timeout: 1000, interval: 50 }).toEqual({ streams: 1, watchedSkus: 0, watchedTickets: 0 });
    // An admission or an end is told once.
    for (const ticket of [second, third]) expect(ticketEvents(stream.events, ticket.id).filter((event) => event.data.status !== 'WAITING')).toHaveLength(1);
    stream.close();
    await expect.poll(() => gauges(), { timeout: 1000, interval: 50 }).toEqual({ streams: 0, watchedSkus: 0, watchedTickets: 0 });
  });

  it('a position moving many times a second is sent at most once a second, the latest last; a leave ends the watch', async () => {
    const sku = await linedSku(1);
    await join(sku, 'holder');
    const ahead = [];
    for (let n = 0; n < 30; n++) ahead.push(await join(sku, `ahead-${n}`));
    const watched = await join(sku, 'watched');
    expect(watched).toMatchObject({ status: 'WAITING', position: 31 });
    const stream = await openStream(ctx.baseUrl, `tickets=${watched.id}`);
    await stream.waitFor(1);
    // The 30 ahead leave over about 2.5 s.
    for (const ticket of ahead) {
      await send('DELETE', `/v1/line-tickets/${ticket.id}`);
      await sleep(80);
    }
    await stream.waitUntil((event) => event.data.position === 1, 3000);
    const positions = ticketEvents(stream.events, watched.id);
    expect(positions.map((event) => event.data.position).at(-1)).toBe(1);
    // Each is a new standing, sent no sooner than a second after the one before.
    for (let n = 1; n < positions.length; n++) {
      expect(positions[n].data.position).toBeLessThan(positions[n - 1].data.position);
      expect(positions[n].at - positions[n - 1].at).toBeGreaterThanOrEqual(950);
    }
    expect(positions.length).toBeLessThanOrEqual(5);
    await send('DELETE', `/v1/line-tickets/${watched.id}`);
    const left = await stream.waitUntil((event) => event.data.status === 'LEFT');
    expect(left.data).toMatchObject({ id: watched.id, position: null });
    stream.close();
  });

  it('the SKU view carries the line: a join, an admission and a leave each reach a ?skus= stream; one stream may watch both', async () => {
    const sku = await linedSku(1);
    const holder = await join(sku, 'holder');
    const stream = await openStream(ctx.baseUrl, `skus=${sku}&tickets=${holder.id}`);
    const [view, ticket] = await stream.waitFor(2);
    expect([view.name, view.data.line]).toEqual(['stock', { waiting: 0, admitted: 1, holdTtlSeconds: 60, lobbySeconds: 0 }]);
    expect([ticket.name, ticket.data.status]).toEqual(['ticket', 'ADMITTED']);
    const line = async (waiting: number, admitted: number) => (await stream.waitUntil((event) => event.name !== 'ticket' && event.data.line?.waiting === waiting && event.data.line?.admitted === admitted)).data;
    const next = await join(sku, 'next');
    expect(next.status).toBe('WAITING');
    expect(await line(1, 1)).toMatchObject({ available: 0, reserved: 1 });
    await send('POST', `/v1/reservations/${holder.id}/release`);
    // The release admits next in the same step: the view shows it held, and the line empty.
    expect(await line(0, 2)).toMatchObject({ available: 0, reserved: 1 });
    const last = await join(sku, 'last');
    await line(1, 2);
    await send('DELETE', `/v1/line-tickets/${last.id}`);
    await sleep(150);
    expect(stream.events.at(-1)!.data).toMatchObject({ sku, line: { waiting: 0, admitted: 2 } });
    stream.close();
  });

  it('the lobby: a stream learns the shuffled place at startsAt though nobody calls the engine', async () => {
    const startsAt = new Date(Date.now() + 1500).toISOString();
    const sku = await linedSku(1, { startsAt, line: { holdTtlSeconds: 60, lobbySeconds: 600 } });
    const tickets = [await join(sku, 'a'), await join(sku, 'b')];
    expect(tickets.map((ticket) => [ticket.status, ticket.lobby, ticket.position])).toEqual([
      ['WAITING', true, null],
      ['WAITING', true, null],
    ]);
    const stream = await openStream(ctx.baseUrl, `tickets=${tickets.map((ticket) => ticket.id).join(',')}`);
    await stream.waitFor(2);
    // At startsAt one is admitted (the one unit) and the other is told its place.
    const admitted = await stream.waitUntil((event) => event.data.status === 'ADMITTED', 4000);
    const placed = await stream.waitUntil((event) => event.data.status === 'WAITING' && event.data.position === 1, 4000);
    expect(admitted.at - Date.parse(startsAt)).toBeLessThan(1000);
    expect(placed.data).toMatchObject({ lobby: false, unitsAhead: 0 });
    expect(new Set([admitted.data.id, placed.data.id])).toEqual(new Set(tickets.map((ticket) => ticket.id)));
    stream.close();
  });

  it('refuses before streaming: 400 for a bad id, more than 100 tickets or neither list, 404 naming unknown tickets', async () => {
    const get = (query: string) => ctx.app.inject({ method: 'GET', url: `/v1/events?${query}` });
    expectErrorShape(await get(`tickets=${encodeURIComponent('a{b')}`), 400, 'VALIDATION_FAILED');
    expectErrorShape(await get(`tickets=${Array.from({ length: 101 }, (_, n) => `t${n}`).join(',')}`), 400, 'VALIDATION_FAILED');
    expectErrorShape(await get(''), 400, 'VALIDATION_FAILED');
    const sku = await linedSku(1);
    const known = await join(sku, 'known');
    const missing = await get(`tickets=${known.id},Anosuchticket0000`);
    expectErrorShape(missing, 404, 'TICKET_NOT_FOUND');
    expect(missing.json().error.details).toEqual({ tickets: ['Anosuchticket0000'] });
    // An unknown SKU beside a known ticket: nothing is left watched either way.
    expectErrorShape(await get(`skus=${uniqueName('nope-')}&tickets=${known.id}`), 404, 'SKU_NOT_FOUND');
    expectErrorShape(await get(`skus=${sku}&tickets=Anosuchticket0000`), 404, 'TICKET_NOT_FOUND');
    expect(await gauges(ctx)).toEqual({ streams: 0, watchedSkus: 0, watchedTickets: 0 });
  });
});

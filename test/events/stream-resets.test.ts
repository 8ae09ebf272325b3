/**
 * GET /v1/events against clients that go away at every step of setting a stream up: raw sockets
 * reset or closed inside the request line, right after the headers, while the first views or
 * tickets are read from Redis, after the first event, after a few bytes. Whatever happened, no
 * stream, watched SKU or watched ticket is left behind (the /metrics gauges read 0 and nothing
 * polls Redis or reads a ticket any more), and a stream that stays open is unaffected. Also: a
 * stream whose first views are still being read when the engine shuts down leaves nothing
 * polling either.
 */
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REDIS_TARGETS, type TestContext, createSku, createTestContext, uniqueName } from '../support/context';

const RESETS = 400;
const AT_ONCE = 25;
const STEPS = ['inside the request line', 'right after the headers', 'while the first views are read', 'after the first event', 'after some bytes'] as const;
type Step = (typeof STEPS)[number];

/** mulberry32: a small seeded generator, so a failing run can be repeated with its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Resolves once `socket` has received something `enough` accepts; rejects if it closes or times out first. */
function receive(socket: net.Socket, enough: (received: string) => boolean, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = '';
    const timer = setTimeout(() => finish(new Error(`nothing usable within ${timeoutMs} ms; got ${JSON.stringify(received.slice(0, 200))}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (enough(received)) finish();
    };
    const onClose = () => finish(new Error(`closed by the engine after ${JSON.stringify(received.slice(0, 200))}`));
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData).off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    socket.on('data', onData).on('close', onClose);
  });
}

/** One client that asks for a stream (`query`: its SKUs, tickets or both) and goes away at `step`, by a reset or a plain close. */
async function goAwayAt(port: number, query: string, step: Step, random: () => number): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  const request = `GET /v1/events?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  const leave = random() < 0.7 ? () => socket.resetAndDestroy() : () => socket.destroy();
  switch (step) {
    case 'inside the request line':
      socket.write(request.slice(0, 1 + Math.floor(random() * request.indexOf('\r\n'))));
      await sleep(random() * 5);
      break;
    case 'right after the headers':
      await new Promise((resolve) => socket.write(request, resolve));
      break;
    case 'while the first views are read':
      socket.write(request);
      await sleep(random() * 50);
      break;
    case 'after the first event':
      socket.write(request);
      await receive(socket, (received) => /\r\n\r\n[^]*\n\n/.test(received));
      break;
    case 'after some bytes': {
      socket.write(request);
      const bytes = 1 + Math.floor(random() * 150);
      await receive(socket, (received) => received.length >= bytes);
      break;
    }
  }
  leave();
  if (!socket.closed) await once(socket, 'close');
}

/** The engine's event-stream gauges, read from /metrics. */
async function streamGauges(ctx: TestContext): Promise<{ streams: number; watchedSkus: number; watchedTickets: number }> {
  const text = (await ctx.app.inject({ method: 'GET', url: '/metrics' })).body;
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  return { streams: gauge('flashsale_event_streams'), watchedSkus: gauge('flashsale_event_watched_skus'), watchedTickets: gauge('flashsale_event_watched_tickets') };
}

/** A stream read over fetch: resolves each event's name as it arrives. */
async function openStream(baseUrl: string, sku: string) {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/v1/events?skus=${sku}`, { signal: controller.signal });
  expect(response.status).toBe(200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    async next(): Promise<string> {
      while (!buffer.includes('\n\n')) buffer += (await reader.read()).value ?? '';
      const end = buffer.indexOf('\n\n');
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      return /^event: (.*)$/m.exec(block)?.[1] ?? block;
    },
    close: () => controller.abort(),
  };
}

describe.each(REDIS_TARGETS)('event streams of clients that go away, on %s Redis', (redis) => {
  let ctx: TestContext;
  const pool = Array.from({ length: 30 }, () => uniqueName('gone-'));
  /** Waiting tickets: five on each of four lined SKUs whose one unit is held. */
  const tickets: string[] = [];
  beforeAll(async () => {
    ctx = await createTestContext({ redis, listen: true });
    for (const sku of pool) await createSku(ctx, sku, { total: 100 });
    for (const sku of pool.slice(0, 4)) {
      await createSku(ctx, `${sku}-lined`, { total: 1, line: { holdTtlSeconds: 600 } });
      for (let n = 0; n < 6; n++) {
        const { ticket } = await ctx.engine.joinLine(`${sku}-lined`, `u${n}`, 1, null);
        if (ticket.status === 'WAITING') tickets.push(ticket.id);
      }
    }
    expect(tickets).toHaveLength(20);
  });
  /** Up to four of the pool's SKUs, up to four tickets, or both. */
  const queryOf = (random: () => number) => {
    const some = (list: string[]) => [...new Set(Array.from({ length: 1 + Math.floor(random() * 4) }, () => list[Math.floor(random() * list.length)]))].join(',');
    const kind = random();
    return kind < 0.4 ? `skus=${some(pool)}` : kind < 0.7 ? `tickets=${some(tickets)}` : `skus=${some(pool)}&tickets=${some(tickets)}`;
  };
  afterAll(() => ctx?.close());

  it(`${RESETS} clients reset at every step of the setup leave no stream, watched SKU or watched ticket; one that stays keeps its events`, async () => {
    const seed = Number(process.env.EVENT_RESET_SEED ?? Math.floor(Math.random() * 2 ** 32));
    const random = seededRandom(seed);
    const port = Number(new URL(ctx.baseUrl).port);
    // Polls made for the SKUs watched, and reads of the tickets watched: once nobody watches, there are none.
    const polls = vi.spyOn(ctx.engine, 'getSkuVersions');
    const ticketReads = vi.spyOn(ctx.engine, 'getTicket');
    try {
      const stays = await openStream(ctx.baseUrl, pool[0]);
      expect(await stays.next()).toBe('stock');
      for (let done = 0; done < RESETS; done += AT_ONCE) {
        await Promise.all(
          Array.from({ length: AT_ONCE }, (_, n) => goAwayAt(port, queryOf(random), STEPS[(done + n) % STEPS.length], random)),
        );
      }
      await expect.poll(() => streamGauges(ctx), { timeout: 1000, interval: 50 }).toEqual({ streams: 1, watchedSkus: 1, watchedTickets: 0 });
      await ctx.engine.adjustStock(pool[0], 1, 'restock', 'test');
      expect(await stays.next()).toBe('stock');

      stays.close();
      await expect.poll(() => streamGauges(ctx), { timeout: 1000, interval: 50 }).toEqual({ streams: 0, watchedSkus: 0, watchedTickets: 0 });
      polls.mockClear();
      // A ticket read already under way when its stream ended may still answer; none starts after it.
      await sleep(100);
      ticketReads.mockClear();
      await sleep(1100);
      expect(polls.mock.calls.map(([skus]) => skus.length), 'SKUs still polled with nobody watching').toEqual([]);
      expect(ticketReads.mock.calls.length, 'tickets still read with nobody watching').toBe(0);
    } catch (error) {
      (error as Error).message = `with EVENT_RESET_SEED=${seed}: ${(error as Error).message}`;
      throw error;
    } finally {
      polls.mockRestore();
      ticketReads.mockRestore();
    }
  });
});

describe('event streams when the engine shuts down', () => {
  it('a stream whose first views are still being read when the engine stops is refused and leaves nothing polling', async () => {
    const ctx = await createTestContext({ listen: true });
    const sku = uniqueName('stopping-');
    await createSku(ctx, sku, { total: 1 });
    // The first read is held until the engine has begun to stop.
    let reading!: () => void;
    const readStarted = new Promise<void>((resolve) => (reading = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const read = ctx.engine.getSkuStates.bind(ctx.engine);
    vi.spyOn(ctx.engine, 'getSkuStates').mockImplementation(async (skus) => {
      const states = await read(skus);
      reading();
      await released;
      return states;
    });
    const polls = vi.spyOn(ctx.engine, 'getSkuVersions');

    const answer = fetch(`${ctx.baseUrl}/v1/events?skus=${sku}`);
    await readStarted;
    const closed = ctx.app.close();
    // Stopping has begun once new requests are refused.
    await expect.poll(async () => (await fetch(`${ctx.baseUrl}/health`).catch(() => null))?.status ?? 0).not.toBe(200);
    await sleep(50);
    release();
    expect((await answer).status).toBe(503);
    await Promise.race([closed, sleep(5000).then(() => Promise.reject(new Error('the engine did not stop within 5 s')))]);
    polls.mockClear();
    await sleep(350);
    expect(polls).not.toHaveBeenCalled();
    await ctx.close();
  });
});

/**
 * A reserve nobody received keeps nothing: a client that disconnects before its answer is written,
 * or a gRPC call whose deadline passes first, never learns its reservation id, so its hold is
 * undone like a reserve answered 503; a keyed retry still replays what it was told of. Against a
 * Redis server of this file's own, paused for real so the answers come after the clients left.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInventoryClient } from '../../src/grpc/client';
import { type GrpcServer, startGrpcServer } from '../../src/grpc/server';
import { ADMIN_TOKEN, type TestContext, createSku, createTestContext, rawCounters, uniqueName } from '../support/context';
import { type TestRedis, startTestRedis } from '../support/servers';

let server: TestRedis;
let ctx: TestContext;
let operator: Redis;
let grpcServer: GrpcServer;

beforeAll(async () => {
  server = await startTestRedis();
  ctx = await createTestContext({ redisUrl: server.url, listen: true });
  grpcServer = await startGrpcServer({ config: ctx.config, ...ctx.app.runtime, metrics: ctx.metrics }, { host: '127.0.0.1', port: 0, log: ctx.app.log });
  operator = new Redis(server.url);
});
afterAll(async () => {
  await grpcServer.close();
  await ctx.close();
  operator.disconnect();
  await server.stop();
});

/** Waits until `condition` holds, checking every 50 ms, for at most `timeoutMs`. */
async function until(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(50);
  }
}

/** Sends a reserve over a raw socket and resets it right after the request is written. */
function reserveAndHangUp(sku: string, userId: string): Promise<void> {
  const body = JSON.stringify({ userId, items: [{ sku, qty: 1 }] });
  const { port } = new URL(ctx.baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(`POST /v1/reservations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => {
        setTimeout(() => {
          socket.resetAndDestroy();
          resolve();
        }, 20);
      });
    });
    socket.on('error', () => resolve());
  });
}

describe('a reserve nobody received holds nothing', () => {
  it('HTTP: 100 clients that hang up before their answer: every unit is back within a second of Redis answering', async () => {
    const sku = uniqueName('hangup-');
    await createSku(ctx, sku, { total: 100 });
    await operator.client('PAUSE', 500, 'WRITE');
    await Promise.all(Array.from({ length: 100 }, (_, n) => reserveAndHangUp(sku, `u${n}`)));
    await sleep(600);
    // Before: 100 units held for 15 minutes for clients that never learnt an id.
    await until(async () => (await rawCounters(ctx, sku)).reserved === 0, 1500);
    expect(await rawCounters(ctx, sku)).toEqual({ total: 100, available: 100, reserved: 0, sold: 0 });
    // A client that waits for its answer keeps its hold.
    const kept = await fetch(`${ctx.baseUrl}/v1/reservations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'patient', items: [{ sku, qty: 1 }] }) });
    expect(kept.status).toBe(201);
    const injected = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'patient-2', items: [{ sku, qty: 1 }] } });
    expect(injected.statusCode).toBe(201);
    await sleep(500);
    expect((await rawCounters(ctx, sku)).reserved).toBe(2);
  });

  it('HTTP: 30 fetch calls aborted after 1..15 ms (keyed) hold nothing; a retry of one with its key is served and kept', async () => {
    const sku = uniqueName('aborted-');
    await createSku(ctx, sku, { total: 30 });
    await operator.client('PAUSE', 300, 'WRITE');
    const calls = await Promise.allSettled(
      Array.from({ length: 30 }, (_, n) =>
        fetch(`${ctx.baseUrl}/v1/reservations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `a${n}` },
          body: JSON.stringify({ userId: `a${n}`, items: [{ sku, qty: 1 }] }),
          signal: AbortSignal.timeout(1 + (n % 15)),
        }),
      ),
    );
    expect(calls.every((call) => call.status === 'rejected')).toBe(true);
    await until(async () => (await rawCounters(ctx, sku)).reserved === 0, 2000);
    const retry = await fetch(`${ctx.baseUrl}/v1/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'a0' },
      body: JSON.stringify({ userId: 'a0', items: [{ sku, qty: 1 }] }),
    });
    expect(retry.status).toBe(201);
    await sleep(500);
    expect(await rawCounters(ctx, sku)).toEqual({ total: 30, available: 29, reserved: 1, sold: 0 });
  });

  it('gRPC: 30 ReserveStock calls whose deadline (1..15 ms) passes first hold nothing; a keyed retry of one is served and kept', async () => {
    const sku = uniqueName('deadline-');
    await createSku(ctx, sku, { total: 30 });
    const client = createInventoryClient(`127.0.0.1:${grpcServer.port}`, { adminToken: ADMIN_TOKEN });
    try {
      await operator.client('PAUSE', 300, 'WRITE');
      const calls = await Promise.allSettled(
        Array.from({ length: 30 }, (_, n) =>
          client.reserveStock({ userId: `g${n}`, items: [{ sku, qty: 1 }], allowPartial: false }, { deadline: new Date(Date.now() + 1 + (n % 15)), idempotencyKey: `k${n}` }),
        ),
      );
      expect(calls.every((call) => call.status === 'rejected')).toBe(true);
      await until(async () => (await rawCounters(ctx, sku)).reserved === 0, 2000);
      const retry = await client.reserveStock({ userId: 'g0', items: [{ sku, qty: 1 }], allowPartial: false }, { idempotencyKey: 'k0' });
      expect(retry.reservation?.status).toBe('PENDING');
      await sleep(500);
      expect(await rawCounters(ctx, sku)).toEqual({ total: 30, available: 29, reserved: 1, sold: 0 });
    } finally {
      client.close();
    }
  });
});

/**
 * A reserve nobody received keeps nothing: a client that disconnects before its answer is written,
 * or a gRPC call whose deadline passes first, never learns its reservation id, so its hold is
 * undone like a reserve answered 503; a keyed retry still replays what it was told of. Against a
 * Redis server of this file's own, paused for real so the answers come after the clients left.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInventoryClient } from '../src/grpc/client';
import { type GrpcServer, startGrpcServer } from '../src/grpc/server';
import { ADMIN_TOKEN, type TestContext, createSku, createTestContext, rawCounters, uniqueName } from './support/context';
import { type TestRedis, startTestRedis } from './support/servers';

let server: TestRedis;
let ctx: TestContext;
let operator: Redis;
let grpcServer: GrpcServer;

beforeAll(async () => {
  server = await startTestRedis();
  ctx = await createTestContext({ redisUrl: server.url });
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

describe('a reserve nobody received holds nothing', () => {
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

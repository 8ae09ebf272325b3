import { pino } from 'pino';
/**
 * With REDIS_WAIT_REPLICAS, the reconciler hands Postgres only what the replicas have
 * (src/redis/outbox.ts): a write the master made while its replica stopped acknowledging (here a
 * reserve answered 503 for want of replicas, and its undo) stays out of Postgres until the replica
 * has it. Drained at once, it would leave Postgres ahead of a promoted replica: a ticket or a
 * movement Redis no longer knows, a change counter Redis has not reached. Passes run on the
 * request thread here (as in the tests) and on the background thread (as `npm start` runs them).
 * Nor does a shopper read an admission the replica lacks: a ticket read answers ADMITTED only once
 * the replica has the admission.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { stockMovements } from '../../src/db/schema';
import { BackgroundThread } from '../../src/process/backgroundThread';
import { askNode } from '../../tools/askNode';
import { type TestContext, createSku, createTestContext, uniqueName } from '../support/context';
import { type TestRedis, startTestRedis } from '../support/servers';

const reserveMovements = (ctx: TestContext, sku: string) =>
  ctx.db
    .select()
    .from(stockMovements)
    .where(and(eq(stockMovements.sku, sku), eq(stockMovements.type, 'RESERVE')));

describe('REDIS_WAIT_REPLICAS=1: Postgres and shoppers learn a change once the replica has it', () => {
  let master: TestRedis;
  let replica: TestRedis;
  let ctx: TestContext;

  beforeAll(async () => {
    [master, replica] = await Promise.all([startTestRedis(), startTestRedis()]);
    await askNode(replica.port, ['REPLICAOF', '127.0.0.1', String(master.port)]);
    for (let tries = 0; !String(await askNode(master.port, ['INFO', 'replication'])).includes('state=online'); tries++) {
      if (tries > 100) throw new Error('the replica never came online');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    ctx = await createTestContext({ redisUrl: master.url, env: { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '200' } });
  }, 60_000);

  afterAll(async () => {
    replica?.resume();
    await ctx?.close();
    await Promise.all([master?.stop(), replica?.stop()]);
  });

  it('keeps a write the replica lacks out of Postgres, and drains it once the replica has it', async () => {
    const sku = uniqueName('drain-');
    await createSku(ctx, sku, { total: 5 });
    await ctx.reconciler.run('api');

    replica.pause();
    const held = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u-1', items: [{ sku, qty: 1 }] } });
    // The script ran on the master; no replica confirmed it.
    expect(held.statusCode).toBe(503);
    const behind = await ctx.reconciler.run('api');
    expect(behind.error).toMatch(/replicas/);
    expect(await reserveMovements(ctx, sku)).toHaveLength(0);

    replica.resume();
    let caughtUp = await ctx.reconciler.run('api');
    for (let tries = 0; caughtUp.error && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      caughtUp = await ctx.reconciler.run('api');
    }
    expect(caughtUp.error).toBeUndefined();
    expect(await reserveMovements(ctx, sku)).toHaveLength(1);
  }, 60_000);

  it('a ticket admitted while the replica lags is read ADMITTED only once the replica has the admission', async () => {
    const sku = uniqueName('line-');
    await createSku(ctx, sku, { total: 1, line: { holdTtlSeconds: 60 } });
    const join = (userId: string) => ctx.app.inject({ method: 'POST', url: `/v1/skus/${sku}/line`, payload: { userId, qty: 1 } });
    const first = (await join('first')).json();
    const second = (await join('second')).json();
    expect([first.status, second.status]).toEqual(['ADMITTED', 'WAITING']);
    replica.pause();
    // The release runs on the master and admits the second ticket there; no replica confirms it.
    expect((await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${first.id}/release` })).statusCode).toBe(503);
    const read = () => ctx.app.inject({ method: 'GET', url: `/v1/line-tickets/${second.id}` });
    const lagging = await read();
    expect(lagging.statusCode, lagging.body).toBe(503);
    replica.resume();
    let caughtUp = await read();
    for (let tries = 0; caughtUp.statusCode !== 200 && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      caughtUp = await read();
    }
    expect(caughtUp.json()).toMatchObject({ id: second.id, status: 'ADMITTED', reservation: { status: 'PENDING' } });
  }, 60_000);

  it('a pass on the background thread, where `npm start` runs them, waits for the replica too', async () => {
    const sku = uniqueName('drain-');
    await createSku(ctx, sku, { total: 5 });
    await ctx.reconciler.run('api');
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fs-drain-'));
    const env = { DATA_DIR: dataDir, REDIS_URL: master.url, KEY_PREFIX: ctx.config.keyPrefix, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '200', LOG_LEVEL: 'silent' };
    const thread = await BackgroundThread.start(loadConfig(env), master.url, pino({ level: 'silent' }));
    try {
      replica.pause();
      const held = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u-2', items: [{ sku, qty: 1 }] } });
      expect(held.statusCode).toBe(503);
      // Its own Postgres (PGlite in DATA_DIR) would take the hold's movement: it must not be handed one.
      const behind = await thread.run('api');
      expect(behind.error).toMatch(/replicas/);
      expect(behind.eventsWritten).toBe(0);
    } finally {
      replica.resume();
      await thread.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

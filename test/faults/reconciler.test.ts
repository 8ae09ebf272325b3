import { execFile, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { type TestContext, adminHeaders, createSku, createTestContext, rawCounters, uniqueName } from '../support/context';
import { queryRows as query } from '../../src/db/client';
import { type TestPostgres, type TestRedis, startTestPostgres, startTestRedis } from '../support/servers';
import { scheduleReconciler } from '../../src/reconciler/schedule';
import { Redis } from 'ioredis';

const run = promisify(execFile);

describe('Postgres down during a pass', () => {
  let postgres: TestPostgres;
  let ctx: TestContext;
  beforeAll(async () => {
    postgres = await startTestPostgres();
    ctx = await createTestContext({ postgresUrl: postgres.url });
  });
  afterAll(async () => {
    await ctx.close();
    await postgres.stop();
  });

  it('events wait in the stream, expired holds are still returned, and everything lands once Postgres is back', async () => {
    const sku = uniqueName('pgdown-');
    await createSku(ctx, sku, { total: 5 });
    const reserve = (qty: number, ttlSeconds = 900) =>
      ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u', orderId: 'o', items: [{ sku, qty }], ttlSeconds } });
    const sold = (await reserve(2)).json().id;
    await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${sold}/commit` });
    await reserve(1, 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));

    postgres.kill();
    const failed = await ctx.app.inject({ method: 'POST', url: '/v1/admin/reconcile', headers: adminHeaders, payload: {} });
    expect(failed.statusCode).toBe(503);
    const partial = failed.json().error.details.report;
    expect(partial.expiredReleased).toBe(1);
    expect(partial.eventsWritten).toBe(0);
    expect(await rawCounters(ctx, sku)).toEqual({ total: 5, available: 3, reserved: 0, sold: 2 });
    const [pending] = (await ctx.redis.xpending(ctx.keys.outbox(0), ctx.keys.outboxGroup())) as [number];
    expect(pending).toBeGreaterThan(0);

    postgres.start();
    let report: { eventsWritten: number; drift: unknown[] } | undefined;
    for (let attempt = 0; attempt < 50 && !report; attempt++) {
      const response = await ctx.app.inject({ method: 'POST', url: '/v1/admin/reconcile', headers: adminHeaders, payload: {} });
      if (response.statusCode === 200) report = response.json();
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(report?.eventsWritten).toBeGreaterThanOrEqual(4);
    expect(report?.drift).toEqual([]);
    const movements = await query<{ type: string; n: string }>(ctx.db, sql`select type, count(*) as n from stock_movements where sku = ${sku} group by type order by type`);
    expect(movements.map((row) => [row.type, Number(row.n)])).toEqual([['COMMIT', 1], ['EXPIRE', 1], ['RESERVE', 2], ['SET', 1]]);
    const [row] = await query<{ status: string }>(ctx.db, sql`select status from reservations where id = ${sold}`);
    expect(row.status).toBe('COMMITTED');
  });
});

describe('Redis paused: passes resume within about a second of Redis answering', () => {
  let server: TestRedis;
  let ctx: TestContext;
  beforeAll(async () => {
    server = await startTestRedis();
    ctx = await createTestContext({ redisUrl: server.url });
  });
  afterAll(async () => {
    await ctx.close();
    await server.stop();
  });

  it('RECONCILE_CRON every 2 s, CLIENT PAUSE 3500 WRITE: an API pass runs within 1.5 s after the pause, and so does the cron', async () => {
    const sku = uniqueName('stall-');
    await createSku(ctx, sku, { total: 3 });
    const schedule = scheduleReconciler(ctx.reconciler, '*/2 * * * * *', ctx.app.log);
    const operator = new Redis(server.url);
    try {
      // Both ticks inside the pause try to take the lease; their SETs run once it ends.
      await operator.client('PAUSE', 3500, 'WRITE');
      const resumesAt = Date.now() + 3500;
      const reserve = ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u', items: [{ sku, qty: 1 }] } });
      expect((await reserve).statusCode).toBe(503);
      await sleep(resumesAt - Date.now());
      const held = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u2', items: [{ sku, qty: 1 }] } });
      expect(held.statusCode).toBe(201);
      const committed = await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${held.json().id}/commit` });
      expect(committed.json().status).toBe('COMMITTED');
      const pass = await ctx.app.inject({ method: 'POST', url: '/v1/admin/reconcile', headers: adminHeaders, payload: {} });
      expect(pass.statusCode).toBe(200);
      expect(Date.now() - resumesAt).toBeLessThan(1500);
      // The acknowledged commit is in Postgres, and cron passes are stored again.
      const [row] = await query<{ status: string }>(ctx.db, sql`select status from reservations where id = ${held.json().id}`);
      expect(row?.status).toBe('COMMITTED');
      const sinceResume = new Date(resumesAt).toISOString();
      let cronRuns = 0;
      for (let attempt = 0; attempt < 40 && cronRuns === 0; attempt++) {
        await sleep(100);
        const runs = (await ctx.app.inject({ method: 'GET', url: '/v1/admin/reconcile/runs?limit=50', headers: adminHeaders })).json().items;
        cronRuns = runs.filter((run: { trigger: string; startedAt: string; error?: string }) => run.trigger === 'cron' && run.startedAt > sinceResume && !run.error).length;
      }
      expect(cronRuns).toBeGreaterThan(0);
    } finally {
      await schedule.stop();
      operator.disconnect();
    }
  });
});

describe('npm run reconcile', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  /** The CLI pointed at this test's Redis, Postgres and key prefix. */
  const cliEnv = () => ({ ...process.env, REDIS_URL: inject('redisUrl'), DATABASE_URL: ctx.config.databaseUrl!, KEY_PREFIX: ctx.config.keyPrefix });
  const cli = async (...args: string[]) => {
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'reconcile', ...args], { env: cliEnv() });
      return { code: 0, stdout };
    } catch (error) {
      const failure = error as { code: number; stdout: string };
      return { code: failure.code, stdout: failure.stdout };
    }
  };

  it('prints the report; exits 2 on unrepaired drift and 0 once --repair fixed it', async () => {
    const sku = uniqueName('cli-');
    await createSku(ctx, sku, { total: 4 });
    const clean = await cli();
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('drift: none');
    await ctx.redis.hincrby(ctx.keys.stock(sku), 'available', -1);
    const drifted = await cli('--json');
    expect(drifted.code).toBe(2);
    expect(JSON.parse(drifted.stdout)).toMatchObject({ trigger: 'cli', drift: [{ sku, field: 'available', redis: 3, postgres: 4, expected: 4 }], repaired: false });
    const repaired = await cli('--repair');
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain('repaired: yes');
    expect(await rawCounters(ctx, sku)).toEqual({ total: 4, available: 4, reserved: 0, sold: 0 });
  });

  it('a pass killed -9 while it holds the lease holds up the next one for at most 15 s', async () => {
    const env = cliEnv();
    // Killed as soon as it took the lease, before it could let go of it (tried again should the
    // pass have finished between two looks).
    let leftMs = -2;
    for (let attempt = 0; attempt < 3 && leftMs < 0; attempt++) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'reconcile'], { env, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && child.exitCode === null && !(await ctx.redis.exists(ctx.keys.reconcileLease()))) await sleep(2);
      child.kill('SIGKILL');
      await exited;
      leftMs = await ctx.redis.pttl(ctx.keys.reconcileLease());
    }
    expect(leftMs).toBeGreaterThan(0);
    expect(leftMs).toBeLessThanOrEqual(15_000);
    await expect(ctx.reconciler.run('api', { repair: false })).rejects.toMatchObject({ code: 'RECONCILE_IN_PROGRESS' });
    await sleep(leftMs + 50);
    await expect(ctx.reconciler.run('api', { repair: false })).resolves.toMatchObject({ trigger: 'api' });
  }, 80_000);
});

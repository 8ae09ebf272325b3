import { readdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client';
import { createTestDatabase } from '../support/context';
import { ENGINE_ADMIN, removeEngineDirs, startEngine } from '../support/engineProcess';
import { call } from '../support/http';
import { startTestRedis } from '../support/servers';

/** `npm start` as a deployment runs it: several replicas at once, and with secrets in its settings. */
afterAll(removeEngineDirs);

describe('engines started together on an empty Postgres', () => {
  it('four migrators at once on one empty database all succeed, and the schema is made once', async () => {
    const database = await createTestDatabase();
    try {
      const handles = await Promise.all([1, 2, 3, 4].map(() => openDatabase({ url: database.url, dataDir: 'unused' })));
      const [first] = handles;
      const applied = await first.db.execute('select count(*)::int as n from drizzle.__drizzle_migrations');
      const rows = Array.isArray(applied) ? applied : (applied as { rows: unknown[] }).rows;
      const migrations = readdirSync('drizzle').filter((name) => name.endsWith('.sql')).length;
      expect(rows).toEqual([{ n: migrations }]);
      await Promise.all(handles.map((handle) => handle.close()));
    } finally {
      await database.drop();
    }
  });

  it('three `npm start` at the same instant all start and serve, sharing one Redis and one Postgres', async () => {
    const database = await createTestDatabase();
    const redis = await startTestRedis();
    const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, WORKERS: '1', RECONCILE_CRON: '*/1 * * * * *' };
    const engines = await Promise.allSettled([1, 2, 3].map(() => startEngine(env)));
    try {
      const failures = engines.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
      expect(failures).toEqual([]);
      const started = engines.map((result) => (result as PromiseFulfilledResult<Awaited<ReturnType<typeof startEngine>>>).value);
      for (const engine of started) expect((await call(engine.base, 'GET', '/ready')).status).toBe(200);
      expect((await call(started[0].base, 'PUT', '/v1/admin/skus/together', { total: 3 }, ENGINE_ADMIN)).status).toBe(201);
      const holds = await Promise.all(started.map((engine, i) => call(engine.base, 'POST', '/v1/reservations', { userId: `u${i}`, items: [{ sku: 'together', qty: 1 }] })));
      expect(holds.map((hold) => hold.status)).toEqual([201, 201, 201]);
    } finally {
      for (const result of engines) if (result.status === 'fulfilled') result.value.child.kill('SIGKILL');
      await redis.stop();
      await database.drop();
    }
  });
});

describe('no secret reaches a log line', () => {
  it('Redis password, admin, client and metrics tokens and webhook secrets stay out of the logs, also when Redis fails', async () => {
    const redis = await startTestRedis();
    const password = 'redis-pass-7f3a9c';
    const admin = new Redis(redis.url);
    await admin.config('SET', 'requirepass', password);
    admin.disconnect();
    const secrets = { password, admin: 'admin-token-51ce', api: 'api-token-93bd', metrics: 'metrics-token-0a8e', webhook: 'webhook-secret-6d21' };
    const url = new URL(redis.url);
    const engine = await startEngine({
      REDIS_URL: `redis://:${password}@${url.host}`,
      ADMIN_TOKEN: secrets.admin,
      API_TOKEN: secrets.api,
      METRICS_TOKEN: secrets.metrics,
      WEBHOOK_ALLOW_PRIVATE: '1',
      WORKERS: '1',
      LOG_LEVEL: 'debug',
    });
    try {
      const asAdmin = { authorization: `Bearer ${secrets.admin}` };
      expect((await call(engine.base, 'PUT', '/v1/admin/skus/s', { total: 2 }, asAdmin)).status).toBe(201);
      expect((await call(engine.base, 'PUT', '/v1/admin/webhooks/w', { url: 'http://127.0.0.1:9/hook', events: ['stock.changed'], secret: secrets.webhook }, asAdmin)).status).toBe(201);
      // Wrong tokens, and a token on each guarded surface.
      expect((await call(engine.base, 'GET', '/v1/skus/s', undefined, { authorization: `Bearer ${secrets.api}x` })).status).toBe(401);
      expect((await call(engine.base, 'GET', '/v1/skus/s', undefined, { authorization: `Bearer ${secrets.api}` })).status).toBe(200);
      expect((await fetch(`${engine.base}/metrics`, { headers: { authorization: `Bearer ${secrets.metrics}` } })).status).toBe(200);
      expect((await fetch(`${engine.base}/metrics`)).status).toBe(401);
      // Redis goes away: the outage is logged, the password is not.
      await redis.stop();
      expect((await call(engine.base, 'GET', '/v1/skus/s', undefined, { authorization: `Bearer ${secrets.api}` })).status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const output = engine.output();
      expect(output).toContain('listening');
      for (const secret of Object.values(secrets)) expect(output).not.toContain(secret);
    } finally {
      engine.child.kill('SIGKILL');
      await redis.stop();
    }
  });
});

describe('a Redis outage in the log', () => {
  it('40 clients through a 4.5 s outage: a start line, at most one summary a second, an end line, no stacks', async () => {
    const redis = await startTestRedis();
    const engine = await startEngine({ REDIS_URL: redis.url, WORKERS: '1' });
    try {
      expect((await call(engine.base, 'PUT', '/v1/admin/skus/o', { total: 1000 }, ENGINE_ADMIN)).status).toBe(201);
      const before = engine.output().length;
      let running = true;
      const statuses: number[] = [];
      const client = async () => {
        while (running) {
          const answer = await call(engine.base, 'POST', '/v1/reservations', { userId: 'u', items: [{ sku: 'o', qty: 1 }] }).catch(() => ({ status: 0 }));
          statuses.push(answer.status);
        }
      };
      const clients = Array.from({ length: 40 }, client);
      await redis.kill();
      await new Promise((resolve) => setTimeout(resolve, 4500));
      await redis.start();
      // Redis comes back empty: the engine notices within a second and rebuilds from Postgres while
      // the clients keep at it, which takes a moment on a busy machine. The load stops once it is over.
      const ended = () => engine.output().slice(before).includes('outage over after');
      const deadline = Date.now() + 20_000;
      while (!ended() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setTimeout(resolve, 500));
      running = false;
      await Promise.all(clients);
      expect(statuses.filter((status) => status === 503).length).toBeGreaterThan(40);
      const lines = engine.output().slice(before).split('\n').filter(Boolean);
      const messages = lines.map((line) => (line.startsWith('{') ? JSON.parse(line).msg : line));
      expect(messages.filter((message) => message.startsWith('outage:'))).toHaveLength(1);
      const over = messages.filter((message) => message.startsWith('outage over after'));
      expect(over).toHaveLength(1);
      // At most one summary a second of the outage, and little else.
      const seconds = Number(/outage over after ([0-9.]+) s/.exec(over[0])![1]);
      const summaries = messages.filter((message) => message.startsWith('outage for')).length;
      expect(summaries).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
      expect(lines.length).toBeLessThan(summaries + 10);
      expect(engine.output().slice(before)).not.toMatch(/\n\s+at /);
      expect(engine.output().slice(before)).not.toContain('"stack"');
    } finally {
      engine.child.kill('SIGKILL');
      await redis.stop();
    }
  });
});

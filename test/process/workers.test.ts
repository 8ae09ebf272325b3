import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { embeddedRedisPaths } from '../../src/servers/embeddedRedis';
import { redisAnswers } from '../../src/servers/readiness';
import { createTestDatabase } from '../support/context';
import { ENGINE_ADMIN, type EngineProcess, removeEngineDirs, startEngine } from '../support/engineProcess';
import { startTestRedis, type TestRedis } from '../support/servers';

/**
 * WORKERS=2: `npm start` as a primary and two HTTP workers sharing one port, run as real processes
 * (node --import tsx src/main.ts, as test/servers/embedded-redis.test.ts does), on the embedded
 * PGlite of a temporary DATA_DIR, with a throwaway Redis of tools/ or the engine-owned
 * redis-server.
 */

const ADMIN = ENGINE_ADMIN;
type Engine = EngineProcess;
afterAll(removeEngineDirs);

interface Answer {
  status: number;
  body: any;
}

/** One request; `agent` pins it to that agent's single keep-alive connection, `false` opens a fresh one. */
function call(engine: Engine, agent: http.Agent | false, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = http.request(
      { host: '127.0.0.1', port: engine.port, method, path: url, agent, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: text.startsWith('{') ? JSON.parse(text) : text }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

/** A keep-alive connection of its own, and the worker that serves it. */
async function connection(engine: Engine): Promise<{ agent: http.Agent; worker: number; pid: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { body } = await call(engine, agent, 'GET', '/health');
  return { agent, worker: body.worker, pid: body.pid };
}

/** Connections until both workers were met: one pinned to each. */
async function oneConnectionPerWorker(engine: Engine) {
  const byWorker = new Map<number, Awaited<ReturnType<typeof connection>>>();
  for (let attempt = 0; attempt < 40 && byWorker.size < 2; attempt++) {
    const next = await connection(engine);
    if (byWorker.has(next.worker)) next.agent.destroy();
    else byWorker.set(next.worker, next);
  }
  expect([...byWorker.keys()].sort()).toEqual([1, 2]);
  return [byWorker.get(1)!, byWorker.get(2)!];
}

/** The workers that answer fresh connections: worker number → pid. */
async function workersSeen(engine: Engine, connections = 16): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  for (let i = 0; i < connections; i++) {
    const { status, body } = await call(engine, false, 'GET', '/health').catch(() => ({ status: 0, body: null }));
    if (status === 200) seen.set(body.worker, body.pid);
  }
  return seen;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** 200 shoppers at once for the one unit of 'last-one', each on a connection of its own. */
function lastUnitRush(engine: Engine): Promise<Answer[]> {
  return Promise.all(
    Array.from({ length: 200 }, (_, i) => call(engine, false, 'POST', '/v1/reservations', { userId: `shopper-${i}`, items: [{ sku: 'last-one', qty: 1 }] })),
  );
}

/** Closes the given connections, then SIGTERM: the engine must exit 0. */
async function stopCleanly(engine: Engine, ...agents: http.Agent[]): Promise<void> {
  for (const agent of agents) agent.destroy();
  engine.child.kill('SIGTERM');
  expect(await engine.exited).toBe(0);
}

/** Whatever happened, no engine is left running and the test's database is dropped. */
async function killAndDrop(engine: Engine, database: { drop(): Promise<void> }): Promise<void> {
  if (engine.child.exitCode === null) engine.child.kill('SIGKILL');
  await database.drop();
}

describe('WORKERS setting', () => {
  it('takes a count or auto (one per core), 1 by default', () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ WORKERS: 'auto' }).workers).toBe(os.availableParallelism());
    expect(() => loadConfig({ WORKERS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ WORKERS: 'many' })).toThrow(ConfigError);
  });
});

describe('WORKERS=2 on a throwaway Redis (REDIS_URL) and the embedded PGlite', () => {
  let redis: TestRedis;
  let engine: Engine;
  beforeAll(async () => {
    redis = await startTestRedis();
    engine = await startEngine({ REDIS_URL: redis.url, RECONCILE_CRON: '*/5 * * * * *' });
  });
  afterAll(async () => {
    engine?.child.kill('SIGKILL');
    await redis?.stop();
  });

  it('says how many workers it runs, and both serve with pids of their own', async () => {
    expect(engine.output()).toContain(`listening on http://127.0.0.1:${engine.port} with 2 worker processes`);
    const seen = await workersSeen(engine);
    expect([...seen.keys()].sort()).toEqual([1, 2]);
    expect(new Set(seen.values()).size).toBe(2);
    expect(seen.get(1)).not.toBe(engine.child.pid);
    // Every log line names its process.
    const lines = engine.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(lines.some((line) => line.role === 'primary')).toBe(true);
    expect(new Set(lines.filter((line) => line.worker).map((line) => line.pid)).size).toBe(2);
  });

  it('commits through one worker a hold made through the other', async () => {
    const [first, second] = await oneConnectionPerWorker(engine);
    expect((await call(engine, first.agent, 'PUT', '/v1/admin/skus/tv-55', { total: 3 }, ADMIN)).status).toBe(201);
    const hold = await call(engine, first.agent, 'POST', '/v1/reservations', { userId: 'u-1', orderId: 'o-1', items: [{ sku: 'tv-55', qty: 2 }] });
    expect(hold.status).toBe(201);
    const commit = await call(engine, second.agent, 'POST', `/v1/reservations/${hold.body.id}/commit`);
    expect(commit).toMatchObject({ status: 200, body: { status: 'COMMITTED' } });
    expect((await call(engine, first.agent, 'GET', '/v1/skus/tv-55')).body).toMatchObject({ available: 1, reserved: 0, sold: 2 });
    expect((await call(engine, first.agent, 'GET', `/v1/reservations/${hold.body.id}`)).body.status).toBe('COMMITTED');
    first.agent.destroy();
    second.agent.destroy();
  });

  it('gives the last unit to exactly one of 200 concurrent shoppers spread over both workers', async () => {
    expect((await call(engine, false, 'PUT', '/v1/admin/skus/last-one', { total: 1 }, ADMIN)).status).toBe(201);
    const answers = await lastUnitRush(engine);
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(199);
    expect(answers.filter((answer) => answer.status === 409).every((answer) => answer.body.error.code === 'INSUFFICIENT_STOCK')).toBe(true);
    expect((await call(engine, false, 'GET', '/v1/skus/last-one')).body).toMatchObject({ total: 1, available: 0, reserved: 1, sold: 0 });
  });

  it('answers /metrics for the whole engine, whichever worker takes the scrape', async () => {
    // A line joined through each worker: the joins add up, the line's own series is read once.
    const workers = await oneConnectionPerWorker(engine);
    expect((await call(engine, false, 'PUT', '/v1/admin/skus/lined-one', { total: 1, line: { holdTtlSeconds: 60 } }, ADMIN)).status).toBe(201);
    for (const [n, { agent }] of workers.entries()) expect((await call(engine, agent, 'POST', '/v1/skus/lined-one/line', { userId: `queuer-${n}`, qty: 1 })).status).toBe(202);
    // 1 hold above, 1 winner of 200: created 2 times, refused 199, over both workers.
    for (const { agent } of workers) {
      const { body } = await call(engine, agent, 'GET', '/metrics');
      expect(body).toContain('flashsale_reservations_total{outcome="created"} 2');
      expect(body).toContain('flashsale_reservations_total{outcome="insufficient_stock"} 199');
      expect(body).toContain('flashsale_sku_units{sku="last-one",state="reserved"} 1');
      expect(body).toContain('flashsale_line_joins_total{outcome="joined"} 2\n');
      expect(body).toContain('flashsale_line_waiting{sku="lined-one"} 1\n');
      expect(body).toContain('flashsale_line_admitted_total{sku="lined-one"} 1\n');
      agent.destroy();
    }
  });

  it('a hold answered 503 by one worker and replayed by the other to a retry is never undone by the first (invariant 7, docs/reliability.md#7-an-answer-is-a-promise)', async () => {
    const [first, second] = await oneConnectionPerWorker(engine);
    expect((await call(engine, first.agent, 'PUT', '/v1/admin/skus/paid-once', { total: 3 }, ADMIN)).status).toBe(201);
    const operator = new Redis(redis.url);
    const body = { userId: 'u-paid', items: [{ sku: 'paid-once', qty: 1 }] };
    const headers = { 'idempotency-key': 'checkout-1' };
    try {
      await operator.client('PAUSE', 2300, 'ALL');
      const pausedAt = Date.now();
      expect((await call(engine, first.agent, 'POST', '/v1/reservations', body, headers)).status).toBe(503);
      // The first worker is held still, so the retry surely comes before its undo of the late hold.
      process.kill(first.pid, 'SIGSTOP');
      try {
        await sleep(Math.max(0, pausedAt + 2400 - Date.now()));
        const retry = await call(engine, second.agent, 'POST', '/v1/reservations', body, headers);
        expect(retry.status).toBe(201);
        expect(retry.body.status).toBe('PENDING');
        process.kill(first.pid, 'SIGCONT');
        // Its undo runs within a second of Redis answering: it must keep what the retry was told.
        await sleep(1500);
        const commit = await call(engine, second.agent, 'POST', `/v1/reservations/${retry.body.id}/commit`);
        expect(commit).toMatchObject({ status: 200, body: { status: 'COMMITTED' } });
        expect((await call(engine, first.agent, 'GET', '/v1/skus/paid-once')).body).toMatchObject({ available: 2, reserved: 0, sold: 1 });
        expect((await call(engine, first.agent, 'GET', '/metrics')).body).toContain('flashsale_reserves_undone_total{outcome="replayed"} 1');
      } finally {
        process.kill(first.pid, 'SIGCONT');
      }
    } finally {
      operator.disconnect();
      first.agent.destroy();
      second.agent.destroy();
    }
  });

  it('stops on SIGTERM with exit 0 and leaves the Redis it was given running', async () => {
    engine.child.kill('SIGTERM');
    expect(await engine.exited).toBe(0);
    expect(await redisAnswers({ port: redis.port, host: '127.0.0.1' })).toBe(true);
  });
});

describe('WORKERS=2 on the embedded defaults (engine-owned redis-server, PGlite)', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine({ RECONCILE_CRON: '* * * * * *' });
  });
  afterAll(() => {
    if (engine?.child.exitCode === null) engine.child.kill('SIGKILL');
  });

  it('drains into the one embedded Postgres on the cron schedule of the primary', async () => {
    const [first, second] = await oneConnectionPerWorker(engine);
    expect((await call(engine, first.agent, 'PUT', '/v1/admin/skus/tv-55', { total: 3 }, ADMIN)).status).toBe(201);
    expect((await call(engine, second.agent, 'POST', '/v1/reservations', { userId: 'u', orderId: 'o', items: [{ sku: 'tv-55', qty: 1 }] })).status).toBe(201);
    let cronRun: { eventsWritten: number } | undefined;
    for (let attempt = 0; attempt < 40 && !cronRun; attempt++) {
      await sleep(250);
      const runs = (await call(engine, first.agent, 'GET', '/v1/admin/reconcile/runs?limit=50', undefined, ADMIN)).body.items;
      cronRun = runs.find((run: { trigger: string; eventsWritten: number }) => run.trigger === 'cron' && run.eventsWritten > 0);
    }
    expect(cronRun).toBeDefined();
    const movements = (await call(engine, second.agent, 'GET', '/v1/admin/skus/tv-55/movements', undefined, ADMIN)).body.items;
    expect(movements.map((m: { type: string }) => m.type)).toEqual(['RESERVE', 'SET']);
    // One schedule only: no two cron passes start within the same second.
    const runs = (await call(engine, first.agent, 'GET', '/v1/admin/reconcile/runs?limit=50', undefined, ADMIN)).body.items as { trigger: string; startedAt: string }[];
    const seconds = runs.filter((run) => run.trigger === 'cron').map((run) => run.startedAt.slice(0, 19));
    expect(new Set(seconds).size).toBe(seconds.length);
    // engine.json names the primary, which holds the embedded Postgres.
    expect(JSON.parse(readFileSync(path.join(engine.dataDir, 'engine.json'), 'utf8'))).toMatchObject({ pid: engine.child.pid, embeddedPostgres: true });
    first.agent.destroy();
    second.agent.destroy();
  });

  it('replaces a worker killed with SIGKILL, and keeps serving meanwhile', async () => {
    const before = await workersSeen(engine);
    const victim = before.get(2)!;
    process.kill(victim, 'SIGKILL');
    // The other worker takes every connection meanwhile (the replacement starts 250 ms later).
    await sleep(500);
    expect((await call(engine, false, 'GET', '/health')).body.worker).toBe(1);
    expect((await call(engine, false, 'GET', '/v1/skus/tv-55')).status).toBe(200);
    let after = new Map<number, number>();
    const deadline = Date.now() + 30_000;
    while (!(after.get(2) && after.get(2) !== victim) && Date.now() < deadline) {
      await sleep(200);
      after = await workersSeen(engine, 4);
    }
    expect(after.get(2)).toBeDefined();
    expect(after.get(2)).not.toBe(victim);
    expect(after.get(1)).toBe(before.get(1));
    expect(engine.output()).toContain(`worker 2 (pid ${victim}) died (killed by SIGKILL)`);
    const [, replacement] = await oneConnectionPerWorker(engine);
    expect(replacement.pid).toBe(after.get(2));
    expect((await call(engine, replacement.agent, 'POST', '/v1/reservations', { userId: 'u-2', items: [{ sku: 'tv-55', qty: 1 }] })).status).toBe(201);
    replacement.agent.destroy();
  });

  it('on SIGTERM finishes an in-flight request, stops every process with exit 0 and leaves no redis-server behind', async () => {
    const workers = [...(await workersSeen(engine)).values()];
    expect(workers).toHaveLength(2);
    const redisPid = Number(readFileSync(embeddedRedisPaths(engine.dataDir).pidFile, 'utf8'));
    expect(alive(redisPid)).toBe(true);

    // A reserve whose body is still arriving when the primary is told to stop.
    const body = JSON.stringify({ userId: 'u-3', items: [{ sku: 'tv-55', qty: 1 }] });
    const answer = new Promise<Answer>((resolve, reject) => {
      const request = http.request(
        { host: '127.0.0.1', port: engine.port, method: 'POST', path: '/v1/reservations', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (response) => {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
        },
      );
      request.on('error', reject);
      request.write(body.slice(0, 10));
      const finish = setInterval(() => {
        if (!engine.output().includes('finishing in-flight requests')) return;
        clearInterval(finish);
        setTimeout(() => request.end(body.slice(10)), 300);
      }, 20);
    });
    await sleep(200);
    engine.child.kill('SIGTERM');
    expect(await answer).toMatchObject({ status: 201, body: { status: 'PENDING' } });
    expect(await engine.exited).toBe(0);
    for (const pid of workers) expect(alive(pid)).toBe(false);
    expect(alive(redisPid)).toBe(false);
    expect(existsSync(embeddedRedisPaths(engine.dataDir).socketPath)).toBe(false);
    expect(existsSync(path.join(engine.dataDir, 'engine.json'))).toBe(false);
    // The only death logged is the SIGKILL above: stopping is no death.
    expect(engine.output().match(/died \(/g)).toHaveLength(1);
  });
});

describe('WORKERS=2 with DATABASE_URL: every worker connects to Postgres itself', () => {
  it('serves from both workers, runs passes in the primary and reads their runs from any worker, and stops with exit 0', async () => {
    const database = await createTestDatabase();
    const engine = await startEngine({ DATABASE_URL: database.url, RECONCILE_CRON: '0 0 1 1 *' });
    try {
      expect(engine.output()).toContain('Postgres: DATABASE_URL, from every worker');
      const [first, second] = await oneConnectionPerWorker(engine);
      expect((await call(engine, first.agent, 'PUT', '/v1/admin/skus/tv-55', { total: 3 }, ADMIN)).status).toBe(201);
      const hold = await call(engine, second.agent, 'POST', '/v1/reservations', { userId: 'u', items: [{ sku: 'tv-55', qty: 1 }] });
      expect(hold.status).toBe(201);
      const pass = await call(engine, first.agent, 'POST', '/v1/admin/reconcile', {}, ADMIN);
      expect(pass).toMatchObject({ status: 200, body: { trigger: 'api', drift: [] } });
      expect(pass.body.eventsWritten).toBeGreaterThan(0);
      const runs = (await call(engine, second.agent, 'GET', '/v1/admin/reconcile/runs', undefined, ADMIN)).body.items;
      expect(runs.map((run: { id: string }) => run.id)).toContain(pass.body.id);
      const movements = (await call(engine, second.agent, 'GET', '/v1/admin/skus/tv-55/movements', undefined, ADMIN)).body.items;
      expect(movements.map((m: { type: string }) => m.type)).toEqual(['RESERVE', 'SET']);
      await stopCleanly(engine, first.agent, second.agent);
    } finally {
      await killAndDrop(engine, database);
    }
  });
});

describe('WORKERS=2 on the Redis Cluster of the test setup, with a spanning reservation', () => {
  it('holds through one worker and commits through the other, and gives one unit to exactly one of 200 shoppers', async () => {
    const database = await createTestDatabase();
    const prefix = `w${process.pid}${Date.now() % 100000}`;
    const engine = await startEngine({ REDIS_CLUSTER_NODES: inject('redisClusterNodes'), KEY_PREFIX: prefix, DATABASE_URL: database.url, RECONCILE_CRON: '0 0 1 1 *' });
    try {
      expect(engine.output()).toContain('Redis Cluster at');
      const [first, second] = await oneConnectionPerWorker(engine);
      // Two SKUs in different partitions of the 16 (6 and 3): one reservation spans them.
      const [a, b] = ['tv-55', 'soundbar'];
      for (const sku of [a, b]) expect((await call(engine, first.agent, 'PUT', `/v1/admin/skus/${sku}`, { total: 3 }, ADMIN)).status).toBe(201);
      const hold = await call(engine, first.agent, 'POST', '/v1/reservations', { userId: 'u', items: [{ sku: a, qty: 1 }, { sku: b, qty: 2 }] });
      expect(hold.status).toBe(201);
      expect((await call(engine, second.agent, 'POST', `/v1/reservations/${hold.body.id}/commit`)).body.status).toBe('COMMITTED');
      expect((await call(engine, second.agent, 'GET', `/v1/skus/${b}`)).body).toMatchObject({ available: 1, reserved: 0, sold: 2 });

      expect((await call(engine, false, 'PUT', '/v1/admin/skus/last-one', { total: 1 }, ADMIN)).status).toBe(201);
      const answers = await lastUnitRush(engine);
      expect(answers.filter((answer) => answer.status === 201)).toHaveLength(1);
      expect(answers.filter((answer) => answer.status === 409)).toHaveLength(199);
      await stopCleanly(engine, first.agent, second.agent);
    } finally {
      await killAndDrop(engine, database);
    }
  });
});

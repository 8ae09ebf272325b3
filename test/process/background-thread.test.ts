import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackgroundThread, type ThreadLog } from '../../src/process/backgroundThread';
import { loadConfig } from '../../src/config';
import { THREAD_NAMES } from '../../src/process/threadName';
import { type TestRedis, startTestRedis } from '../support/servers';

describe('background thread', () => {
  let redis: TestRedis;
  let dataDir: string;
  let services: BackgroundThread;
  /** What the thread's owner was told, as "level: message". */
  const told: string[] = [];
  const log = { error: (_: object, message: string) => told.push(`error: ${message}`), warn: (message: string) => told.push(`warn: ${message}`) } as unknown as ThreadLog;

  beforeAll(async () => {
    redis = await startTestRedis();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fs-background-'));
    // As `npm start` runs it on the embedded Postgres (PGlite in DATA_DIR), against a Redis of its own.
    services = await BackgroundThread.start(loadConfig({ DATA_DIR: dataDir, REDIS_URL: redis.url, LOG_LEVEL: 'silent' }), redis.url, log);
  });

  afterAll(async () => {
    await services?.close();
    redis?.resume();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.runIf(existsSync('/proc/thread-self/comm'))('is named, so top -H, perf and the bench tell it from the request thread', () => {
    const names = readdirSync('/proc/self/task').map((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim());
    expect(names).toContain(THREAD_NAMES.background);
    // The process (its main thread) keeps its own name: tools that find it by name still do.
    expect(readFileSync('/proc/self/comm', 'utf8').trim()).not.toBe(THREAD_NAMES.background);
  });

  it('fails a call pending when the thread dies with 503 UNAVAILABLE and later calls at once, until a new thread answers them', async () => {
    const db = services.embeddedDatabase();
    const passesRecorded = async () => {
      const answer = (await db.execute('select count(*)::int as n from reconcile_runs')) as unknown as { rows?: { n: number }[] } & { n: number }[];
      return (answer.rows ?? answer)[0].n;
    };
    await services.run('api');
    const recordedBefore = await passesRecorded();
    expect(recordedBefore).toBeGreaterThanOrEqual(1);
    // A pass that cannot finish: its first step (the lease) waits on a Redis that hangs.
    redis.pause();
    const pending = services.run('api');
    const outcome = pending.then(() => 'answered', (error) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Ended from outside (through the private field), as an uncaught error or a process.exit there would end it.
    await services['worker'].terminate();
    expect(await outcome).toMatchObject({ code: 'UNAVAILABLE', status: 503 });

    const started = Date.now();
    await expect(services.run('api')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // drizzle wraps what the query callback throws.
    await expect(services.embeddedDatabase().execute('select 1')).rejects.toMatchObject({ cause: { code: 'UNAVAILABLE' } });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(told[0]).toMatch(/^error: the background thread died/);

    // The new thread waits for Redis like the first; then passes run again, on the same embedded
    // Postgres (reopened from DATA_DIR after the old thread's PGlite ended without closing).
    redis.resume();
    const deadline = Date.now() + 30_000;
    let report = await services.run('api').catch((error) => error);
    while (report instanceof Error && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      report = await services.run('api').catch((error) => error);
    }
    expect(report).toMatchObject({ trigger: 'api' });
    expect(told).toContain('warn: a new background thread is running');
    expect(await passesRecorded()).toBeGreaterThan(recordedBefore);
  });
});

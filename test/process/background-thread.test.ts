import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackgroundThread } from '../../src/process/backgroundThread';
import { loadConfig } from '../../src/config';
import { THREAD_NAMES } from '../../src/process/threadName';
import { type TestRedis, startTestRedis } from '../support/servers';

describe('background thread', () => {
  let redis: TestRedis;
  let dataDir: string;
  let services: BackgroundThread;

  beforeAll(async () => {
    redis = await startTestRedis();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fs-background-'));
    // As `npm start` runs it on the embedded Postgres (PGlite in DATA_DIR), against a Redis of its own.
    services = await BackgroundThread.start(loadConfig({ DATA_DIR: dataDir, REDIS_URL: redis.url, LOG_LEVEL: 'silent' }), redis.url);
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

  it('fails a call pending when the thread dies with 503 UNAVAILABLE, and every later call at once', async () => {
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
  });
});

import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedRedisPaths, startEmbeddedRedis } from '../../src/servers/embeddedRedis';
import { processStartTime, stopProcess } from '../../src/servers/processIdentity';
import { ENGINE_ADMIN, removeEngineDirs, startEngine } from '../support/engineProcess';
import { call } from '../support/http';
import { freePort } from '../support/servers';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fs-embedded-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  removeEngineDirs();
});

describe('engine-owned redis-server', () => {
  it('starts with AOF and fsync always under DATA_DIR, is found again, and stops', async () => {
    const dataDir = tempDir();
    const first = await startEmbeddedRedis(dataDir);
    expect(first.owned).toBe(true);
    const client = new Redis(first.url);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    expect(await client.config('GET', 'dir')).toEqual(['dir', path.join(dataDir, 'redis')]);
    await client.set('kept', '1');
    const again = await startEmbeddedRedis(dataDir);
    expect(again.owned).toBe(false);
    await first.stop();
    client.disconnect();
    const restarted = await startEmbeddedRedis(dataDir);
    const reader = new Redis(restarted.url);
    expect(await reader.get('kept')).toBe('1');
    reader.disconnect();
    await restarted.stop();
    expect(existsSync(embeddedRedisPaths(dataDir).socketPath)).toBe(false);
  });
});

describe('npm start on embedded defaults', () => {
  it('after a kill -9, the next start takes over the redis-server left running and stops it on SIGTERM', async () => {
    const first = await startEngine({});
    const { pidFile, socketPath } = embeddedRedisPaths(first.dataDir);
    const serverPid = Number(readFileSync(pidFile, 'utf8'));
    const isRunning = () => existsSync(`/proc/${serverPid}`) && !readFileSync(`/proc/${serverPid}/stat`, 'utf8').includes(') Z ');
    expect((await call(first.base, 'PUT', '/v1/admin/skus/kept', { total: 3 }, ENGINE_ADMIN)).status).toBe(201);
    first.child.kill('SIGKILL');
    await first.exited;
    // Nothing stops it then: its data stays safe on disk and in memory.
    expect(isRunning()).toBe(true);

    const second = await startEngine({ PORT: String(first.port) }, first.dataDir);
    expect((await call(second.base, 'GET', '/v1/skus/kept')).body).toMatchObject({ total: 3, available: 3 });
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(serverPid);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(isRunning()).toBe(false);
    expect(existsSync(socketPath)).toBe(false);
  });

  it('a taken-over redis-server that died meanwhile: SIGTERM still exits 0, and no pid is signalled', async () => {
    const first = await startEngine({ WORKERS: '1' });
    const { pidFile } = embeddedRedisPaths(first.dataDir);
    const serverPid = Number(readFileSync(pidFile, 'utf8'));
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await startEngine({ WORKERS: '1', PORT: String(first.port) }, first.dataDir);
    process.kill(serverPid, 'SIGKILL');
    while (existsSync(`/proc/${serverPid}`) && !readFileSync(`/proc/${serverPid}/stat`, 'utf8').includes(') Z ')) await sleep(20);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.output()).not.toMatch(/ESRCH|uncaught/i);
  });

  it('stopping a process by pid leaves alone a process that has since got that pid', async () => {
    const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = stranger.pid!;
    const exited = new Promise((resolve) => stranger.once('exit', resolve));
    const startTime = processStartTime(pid)!;
    expect(startTime).toBeDefined();
    // Another start time: the process the pid once named is gone, and this one is a stranger.
    await stopProcess(pid, `${startTime}1`, 100);
    expect(stranger.exitCode).toBeNull();
    expect(stranger.signalCode).toBeNull();
    await stopProcess(pid, startTime, 100);
    await exited;
    expect(stranger.signalCode).toBe('SIGTERM');
  });

  it('serves, then on SIGTERM finishes, stops its redis-server and exits 0', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), ADMIN_TOKEN: 'secret', LOG_LEVEL: 'info', REDIS_URL: '', DATABASE_URL: '', RECONCILE_CRON: '* * * * * *' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 40_000;
    while (!(await fetch(`${base}/health`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`engine did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // The start-up line is logged right after the server starts listening: /health may answer first.
    while (!output.includes(`listening on http://127.0.0.1:${port}`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(output).toContain(`listening on http://127.0.0.1:${port}`);
    const put = await fetch(`${base}/v1/admin/skus/tv-55`, {
      method: 'PUT',
      headers: { authorization: 'Bearer secret', 'content-type': 'application/json' },
      body: JSON.stringify({ total: 3 }),
    });
    expect(put.status).toBe(201);
    const reserve = await fetch(`${base}/v1/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'u', orderId: 'o', items: [{ sku: 'tv-55', qty: 1 }] }),
    });
    expect(reserve.status).toBe(201);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    // The background thread (passes, PGlite) runs at nice 19; the thread serving HTTP does not.
    const niceOf = (tid: string) => {
      const stat = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    expect(readdirSync(`/proc/${child.pid}/task`).map(niceOf)).toContain(19);
    expect(niceOf(String(child.pid))).toBe(0);

    // The cron reconciler drains the reservation into the embedded Postgres within a period or two
    // (no other pass runs here). A tick between the PUT and the reserve drains the SET alone: the
    // reserve's movement may take the next one.
    const admin = { authorization: 'Bearer secret' };
    const movementTypes = async () => (await (await fetch(`${base}/v1/admin/skus/tv-55/movements`, { headers: admin })).json()).items.map((m: { type: string }) => m.type);
    const cronRuns = async () => (await (await fetch(`${base}/v1/admin/reconcile/runs?limit=50`, { headers: admin })).json()).items as { trigger: string; eventsWritten: number }[];
    // A pass records its run once it ends, after its rows are in: both are waited for.
    let types: string[] = [];
    let runs: { trigger: string; eventsWritten: number }[] = [];
    for (let attempt = 0; attempt < 60 && !(types.includes('RESERVE') && runs.some((run) => run.trigger === 'cron' && run.eventsWritten > 0)); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      [types, runs] = await Promise.all([movementTypes(), cronRuns()]);
    }
    expect(types).toEqual(['RESERVE', 'SET']);
    expect(runs.some((run) => run.trigger === 'cron' && run.eventsWritten > 0)).toBe(true);
    expect(runs.every((run) => run.trigger === 'cron')).toBe(true);

    // npm run reconcile finds the running engine (it owns the embedded Postgres) and has it run the pass.
    const cli = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'reconcile', '--json'], {
      env: { ...process.env, DATA_DIR: dataDir, ADMIN_TOKEN: 'secret', REDIS_URL: '', DATABASE_URL: '' },
    });
    expect(JSON.parse(cli.stdout)).toMatchObject({ trigger: 'api', drift: [] });

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(embeddedRedisPaths(dataDir).socketPath)).toBe(false);
    expect(existsSync(path.join(dataDir, 'pglite'))).toBe(true);
  });
});

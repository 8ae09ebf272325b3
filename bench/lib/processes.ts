import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/support/servers';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

export interface Server {
  url: string;
  stop(): Promise<void>;
}

async function waitFor(url: string, child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url} exited before it answered:\n${output()}`);
    if (await fetch(url).then((r) => r.status < 500, () => false)) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts a TypeScript entry point of this repository as its own process and waits until `readyPath` answers. */
async function startNode(entry: string, env: Record<string, string>, readyPath: string, cleanup: () => void = () => {}): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  child.stderr!.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}${readyPath}`, child, () => output);
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      cleanup();
    },
  };
}

/** A freshly started engine on embedded services (its own redis-server and PGlite), as `npm start` runs it. */
export async function startEngine(env: Record<string, string> = {}): Promise<Server> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fs-bench-'));
  return startNode('src/main.ts', { DATA_DIR: dataDir, ADMIN_TOKEN: BENCH_ADMIN_TOKEN, REDIS_URL: '', DATABASE_URL: '', ...env }, '/ready', () =>
    rmSync(dataDir, { recursive: true, force: true }),
  );
}

/** The `ceiling` server: same Fastify settings, no work. */
export function startCeiling(): Promise<Server> {
  return startNode('bench/ceilingServer.ts', {}, '/health');
}

/** The strategy shoot-out server with one backend. */
export function startStrategyServer(env: Record<string, string>): Promise<Server> {
  return startNode('bench/strategies/server.ts', env, '/check');
}

/** Admin call against a bench engine. */
export async function admin(server: Server, method: string, route: string, body?: unknown): Promise<any> {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}

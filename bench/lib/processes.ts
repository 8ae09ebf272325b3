import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../tools/freePort';
import { ENGINE_NODE_FLAGS } from '../../src/process/nodeFlags';
import { httpAnswers } from '../../src/servers/readiness';
import { startServerProcess } from '../../src/servers/serverProcess';
import { CpuWatch } from './cpu';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

export interface Server {
  url: string;
  pid: number;
  /**
   * The processes whose CPU time a run against this server reads: the load generator (this
   * process), the server and every process below it (workers, an engine-owned redis-server).
   */
  cpu: CpuWatch;
  stop(): Promise<void>;
}

/**
 * Starts an entry point of this repository as its own process and waits until `readyPath` answers:
 * a TypeScript one under tsx, a built one (dist/) with plain node.
 */
async function startNode(entry: string, env: Record<string, string>, readyPath: string, name: string, cleanup: () => void = () => {}): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: `${entry} on ${url}`,
    command: process.execPath,
    // Every server measured runs with the engine's V8 flags: the ceilings are held to the same settings.
    args: [...ENGINE_NODE_FLAGS, ...(entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry])],
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    ready: () => httpAnswers(`${url}${readyPath}`),
    startTimeoutMs: 60_000,
    pollMs: 100,
  });
  return {
    url,
    pid: server.pid,
    cpu: new CpuWatch([{ kind: 'self' }, { kind: 'tree', pid: server.pid, stage: 'engine', name }]),
    async stop() {
      await server.stop({ graceMs: 15_000 });
      cleanup();
    },
  };
}

let built = false;

/** Builds dist/ when the sources changed since (scripts/ensure-build.mjs, as `npm start` does), once per bench. */
function ensureBuilt(): void {
  if (!built) execFileSync(process.execPath, [path.join(ROOT, 'scripts/ensure-build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

/**
 * A freshly started engine on embedded services (its own redis-server and PGlite), as `npm start`
 * runs it: the build in dist/, with plain node. Its DATA_DIR is a new temporary directory, deleted
 * on stop, unless `env` names one (the caller's to delete: an engine restarted on the same data).
 */
export async function startEngine(env: Record<string, string> = {}): Promise<Server> {
  ensureBuilt();
  const dataDir = env.DATA_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'fs-bench-'));
  // No gRPC unless a scenario asks for it (GRPC_PORT): engines of one scenario may run side by side.
  return startNode('dist/main.js', { ADMIN_TOKEN: BENCH_ADMIN_TOKEN, REDIS_URL: '', DATABASE_URL: '', GRPC_PORT: 'off', ...env, DATA_DIR: dataDir }, '/ready', 'engine', () => {
    if (!env.DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
  });
}

/** The `ceiling` server: same Fastify settings, no work. */
export function startCeiling(): Promise<Server> {
  return startNode('bench/ceilingServer.ts', {}, '/health', 'ceiling server');
}

/** The gRPC ceiling (grpcCeilingServer.ts) on `grpcPort`: grpc-js serving ReserveStock, no work. */
export function startGrpcCeiling(grpcPort: number): Promise<Server> {
  return startNode('bench/grpcCeilingServer.ts', { GRPC_PORT: String(grpcPort) }, '/health', 'gRPC ceiling server');
}

/** The strategy shoot-out server with one backend. */
export function startStrategyServer(env: Record<string, string>): Promise<Server> {
  return startNode('bench/strategies/server.ts', env, '/check', `${env.STRATEGY ?? 'strategy'} server`);
}

/**
 * Runs a reconciler pass on a bench engine now (POST /v1/admin/reconcile) and waits for it: its
 * outbox drained into Postgres. While a scheduled pass holds the lease (409), asks again, for at
 * most a minute.
 */
export async function reconcileNow(server: Server): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await adminRequest(server, 'POST', '/v1/admin/reconcile', {});
    await response.arrayBuffer();
    if (response.ok) return;
    if (response.status !== 409 || Date.now() > deadline) throw new Error(`a reconciler pass answered ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** An admin request against a bench engine, its response as it came. */
function adminRequest(server: Server, method: string, route: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Admin call against a bench engine: its answer's JSON. */
export async function admin(server: Server, method: string, route: string, body?: unknown): Promise<any> {
  return (await adminRequest(server, method, route, body)).json();
}

import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ENGINE_NODE_FLAGS } from '../../src/process/nodeFlags';
import { embeddedRedisPaths } from '../../src/servers/embeddedRedis';
import { freePort } from './servers';

/** `npm start` as a real process (node --import tsx src/main.ts), in a temporary DATA_DIR. */
export interface EngineProcess {
  base: string;
  port: number;
  dataDir: string;
  child: ChildProcessByStdio<null, Readable, Readable>;
  output(): string;
  exited: Promise<number | null>;
}

const dirs: string[] = [];

/** Removes the DATA_DIRs of every engine started (call in afterAll), and any redis-server an engine killed by a test left running there. */
export function removeEngineDirs(): void {
  for (const dir of dirs.splice(0)) {
    const pidFile = embeddedRedisPaths(dir).pidFile;
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The admin token every engine process is started with. */
export const ENGINE_ADMIN = { authorization: 'Bearer secret' };

/**
 * Starts an engine (two HTTP workers unless `env` says otherwise) on the embedded services unless
 * `env` names others, and waits for its start-up line (logged once every worker listens).
 * `dataDir` reuses a directory (a restart).
 */
export async function startEngine(env: Record<string, string>, dataDir?: string): Promise<EngineProcess> {
  if (!dataDir) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fs-engine-'));
    dirs.push(dataDir);
  }
  // A restart keeps its port (env.PORT), so clients of the first process reach the second.
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [...ENGINE_NODE_FLAGS, '--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), ADMIN_TOKEN: 'secret', LOG_LEVEL: 'info', REDIS_URL: '', DATABASE_URL: '', WORKERS: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const engine = { base: `http://127.0.0.1:${port}`, port, dataDir, child, output: () => output, exited };
  const deadline = Date.now() + 40_000;
  while (!output.includes('flash-sale engine listening')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`engine did not start: ${output}`);
    }
    await sleep(100);
  }
  return engine;
}

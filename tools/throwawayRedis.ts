import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { redisServerBinary } from '../src/servers/binaries';
import { freePort } from './freePort';
import { redisAnswers } from '../src/servers/readiness';
import { type ServerProcess, startServerProcess } from '../src/servers/serverProcess';

/** A redis-server of its own on a loopback port, for tests, the bench and chaos runs; its data is deleted on stop. */
export interface ThrowawayRedis {
  port: number;
  url: string;
  dir: string;
  /** Kills the server with the given signal and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that hangs without closing its connections. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** Starts one; no persistence unless `appendonly` (then AOF with fsync on every write). */
export async function startThrowawayRedis(options: { appendonly?: boolean; port?: number } = {}): Promise<ThrowawayRedis> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fs-test-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.appendonly ? 'yes' : 'no', '--appendfsync', 'always', '--loglevel', 'warning'];
  let server: ServerProcess | undefined;
  const start = async () => {
    server = await startServerProcess({
      name: `redis-server on port ${port}`,
      command: redisServerBinary(),
      args,
      ready: () => redisAnswers({ port, host: '127.0.0.1' }),
    });
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => server?.stop({ signal });
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill,
    start,
    pause: () => server?.signal('SIGSTOP'),
    resume: () => server?.signal('SIGCONT'),
    async stop() {
      // SIGKILL ends a paused server too.
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

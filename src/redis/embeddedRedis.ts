import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * The engine-owned redis-server used when no REDIS_URL is given: AOF on with fsync on every
 * write, data under DATA_DIR/redis, listening on a unix socket only (no TCP port to collide with
 * or expose). Its socket path is how `npm run reconcile` finds it again.
 */
export interface EmbeddedRedis {
  url: string;
  socketPath: string;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

export class MissingBinaryError extends Error {}

export function redisServerBinary(): string {
  const fromEnv = process.env.REDIS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  throw new MissingBinaryError(
    'No redis-server binary found. Install one (Debian/Ubuntu: `sudo apt-get install -y redis-server`; ' +
      'macOS: `brew install redis`), set REDIS_SERVER_BIN to its path, or point REDIS_URL at a running Redis.',
  );
}

function pingSocket(socketPath: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(socketPath);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export function embeddedRedisPaths(dataDir: string) {
  const dir = path.join(dataDir, 'redis');
  return { dir, socketPath: path.join(dir, 'redis.sock'), pidFile: path.join(dir, 'redis.pid') };
}

/** Finds the engine-owned server of this DATA_DIR if one runs, or starts one. */
export async function startEmbeddedRedis(dataDir: string): Promise<EmbeddedRedis> {
  const { dir, socketPath, pidFile } = embeddedRedisPaths(dataDir);
  // ioredis takes a bare socket path as its URL.
  const url = socketPath;
  if (existsSync(socketPath) && (await pingSocket(socketPath))) {
    return { url, socketPath, owned: false, stop: async () => {} };
  }
  mkdirSync(dir, { recursive: true });
  rmSync(socketPath, { force: true });
  const child = spawn(
    redisServerBinary(),
    [
      '--port', '0',
      '--unixsocket', socketPath,
      '--unixsocketperm', '700',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'always',
      '--save', '',
      '--daemonize', 'no',
      '--loglevel', 'warning',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  while (!(await pingSocket(socketPath))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start (data in ${dir}): ${stderr.trim() || 'no output'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  writeFileSync(pidFile, String(child.pid));
  return { url, socketPath, owned: true, stop: () => stopChild(child, exited, pidFile) };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>, pidFile: string): Promise<void> {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (existsSync(pidFile) && readFileSync(pidFile, 'utf8') === String(child.pid)) rmSync(pidFile, { force: true });
}

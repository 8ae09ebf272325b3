import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { redisServerBinary } from '../servers/binaries';
import { redisAnswers } from '../servers/readiness';
import { startServerProcess } from '../servers/serverProcess';

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

export function embeddedRedisPaths(dataDir: string) {
  const dir = path.join(dataDir, 'redis');
  return { dir, socketPath: path.join(dir, 'redis.sock'), pidFile: path.join(dir, 'redis.pid') };
}

/** Finds the engine-owned server of this DATA_DIR if one runs, or starts one. */
export async function startEmbeddedRedis(dataDir: string): Promise<EmbeddedRedis> {
  const { dir, socketPath, pidFile } = embeddedRedisPaths(dataDir);
  // ioredis takes a bare socket path as its URL.
  const url = socketPath;
  const answers = () => redisAnswers({ path: socketPath });
  if (existsSync(socketPath) && (await answers())) {
    return { url, socketPath, owned: false, stop: async () => {} };
  }
  mkdirSync(dir, { recursive: true });
  rmSync(socketPath, { force: true });
  const server = await startServerProcess({
    name: `redis-server (data in ${dir})`,
    command: redisServerBinary(),
    args: [
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
    ready: answers,
  });
  const pid = String(server.pid);
  writeFileSync(pidFile, pid);
  return {
    url,
    socketPath,
    owned: true,
    async stop() {
      await server.stop();
      if (existsSync(pidFile) && readFileSync(pidFile, 'utf8') === pid) rmSync(pidFile, { force: true });
    },
  };
}

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { redisServerBinary } from './binaries';
import { redisAnswers } from './readiness';
import { processStartTime, stopProcess } from './processIdentity';
import { startServerProcess } from './serverProcess';

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
  // ownerFile: the pid of the process that started the server (an engine or the CLI), which stops it.
  return { dir, socketPath: path.join(dir, 'redis.sock'), pidFile: path.join(dir, 'redis.pid'), ownerFile: path.join(dir, 'owner.pid') };
}

function readPid(file: string): number | undefined {
  const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : NaN;
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Finds the engine-owned server of this DATA_DIR if one runs, or starts one. */
export async function startEmbeddedRedis(dataDir: string): Promise<EmbeddedRedis> {
  const { dir, socketPath, pidFile, ownerFile } = embeddedRedisPaths(dataDir);
  // ioredis takes a bare socket path as its URL.
  const url = socketPath;
  const answers = () => redisAnswers({ path: socketPath });
  const forget = (pid: string) => {
    if (existsSync(pidFile) && readFileSync(pidFile, 'utf8') === pid) rmSync(pidFile, { force: true });
    rmSync(ownerFile, { force: true });
  };
  if (existsSync(socketPath) && (await answers())) {
    const serverPid = readPid(pidFile);
    const ownerPid = readPid(ownerFile);
    // Its owner was killed without stopping it (kill -9): this process takes it over and stops it
    // when it stops, rather than leave it running with nobody to stop it.
    const serverStart = serverPid === undefined ? undefined : processStartTime(serverPid);
    if (serverStart !== undefined && ownerPid !== undefined && !isAlive(ownerPid)) {
      writeFileSync(ownerFile, String(process.pid));
      const stop = async () => {
        await stopProcess(serverPid!, serverStart);
        forget(String(serverPid));
      };
      return { url, socketPath, owned: true, stop };
    }
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
  writeFileSync(ownerFile, String(process.pid));
  return {
    url,
    socketPath,
    owned: true,
    async stop() {
      await server.stop();
      forget(pid);
    },
  };
}

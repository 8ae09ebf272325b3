import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** A server binary the engine, the tests or the bench need is not installed. */
export class MissingBinaryError extends Error {}

function onPath(command: string): string {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).stdout.trim();
}

/** The redis-server to run: REDIS_SERVER_BIN, else the one on PATH. */
export function redisServerBinary(): string {
  const found = process.env.REDIS_SERVER_BIN || onPath('redis-server');
  if (found) return found;
  throw new MissingBinaryError(
    'No redis-server binary found. Install one (Debian/Ubuntu: `sudo apt-get install -y redis-server`; ' +
      'macOS: `brew install redis`), set REDIS_SERVER_BIN to its path, or point REDIS_URL at a running Redis.',
  );
}

/** The redis-cli that creates clusters: REDIS_CLI_BIN, else the one beside redis-server, else the one on PATH. */
export function redisCliBinary(): string {
  const beside = path.join(path.dirname(redisServerBinary()), 'redis-cli');
  const found = process.env.REDIS_CLI_BIN || (existsSync(beside) ? beside : onPath('redis-cli'));
  if (found) return found;
  throw new MissingBinaryError('No redis-cli binary found (it comes with redis-server; Debian/Ubuntu: redis-tools). Set REDIS_CLI_BIN to its path.');
}

/** Directory holding initdb and pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/N/bin, else PATH. */
export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => existsSync(path.join(root, name, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(root, versions[0], 'bin');
  }
  const found = onPath('initdb');
  if (found) return path.dirname(found);
  throw new MissingBinaryError('No Postgres server binaries (initdb, pg_ctl) found: install the postgresql package or set PG_BIN.');
}

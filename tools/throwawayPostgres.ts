import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postgresBinDir } from '../src/servers/binaries';
import { freePort } from './freePort';

/** A Postgres cluster of its own (made with initdb) on a loopback port, for tests, the bench and chaos runs; deleted on stop. */
export interface ThrowawayPostgres {
  port: number;
  /** URL of the `postgres` database; tests create their own databases from it. */
  url: string;
  /** Stops the server at once (no clean shutdown), keeping its data. */
  kill(): void;
  /** Starts it again on the same port and data. */
  start(): void;
  stop(): Promise<void>;
}

const runningAsRoot = () => process.getuid?.() === 0;

/** Postgres refuses to run as root; as root the cluster is run by the `postgres` system user. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  return runningAsRoot() ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

/** Starts one, fast and unsafe (no fsync): its data is thrown away anyway. pg_ctl waits until it answers. */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const bin = postgresBinDir();
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fs-test-pg-'));
  if (runningAsRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const dataDir = path.join(dir, 'data');
  const run = (command: string, args: string[]) => {
    const [file, argv] = asServerUser(path.join(bin, command), args);
    execFileSync(file, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`;
  const start = () => run('pg_ctl', ['-D', dataDir, '-o', options, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const kill = () => run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
  start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill,
    start,
    async stop() {
      try {
        kill();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

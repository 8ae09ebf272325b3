import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postgresBinDir } from '../../src/servers/binaries';

function version(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8' }).trim().split('\n')[0];
  } catch {
    return 'not found';
  }
}

function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function postgresVersion(): string {
  try {
    return version(path.join(postgresBinDir(), 'postgres'), ['--version']);
  } catch {
    return 'not found';
  }
}

/** What the numbers were measured on: they mean little without it. */
export function describeMachine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: version('redis-server', ['--version']),
    postgres: postgresVersion(),
    packages: Object.fromEntries(['fastify', 'ioredis', 'drizzle-orm', 'postgres', '@electric-sql/pglite', 'autocannon'].map((name) => [name, packageVersion(name)])),
  };
}

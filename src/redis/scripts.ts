import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { loadLuaScript } from './luaSource';

/** The scripts in lua/, by the command name they are defined under. */
export const SCRIPTS = {
  fsReserve: 'reserve',
  fsCommit: 'commit',
  fsRelease: 'release',
  fsAbandon: 'abandon',
  fsExtend: 'extend',
  fsGetReservation: 'get_reservation',
  fsSetStock: 'set_stock',
  fsAdjustStock: 'adjust_stock',
  fsSweepExpired: 'sweep_expired',
  fsRepairStock: 'repair_stock',
  fsRestoreSku: 'restore_sku',
  fsReleaseLease: 'release_lease',
  fsRenewLease: 'renew_lease',
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type ScriptArg = string | number;
/** A script call: first the number of keys, then the keys, then the arguments (EVALSHA order). */
export type ScriptCommands = Record<ScriptName, (numKeys: number, ...keysThenArgs: ScriptArg[]) => Promise<unknown>>;
export type ScriptedRedis = Redis & ScriptCommands;

/**
 * Registers every script with ioredis, which sends EVALSHA and falls back to EVAL once when the
 * server does not know the script yet (first call, or after a restart flushed the script cache).
 */
export function defineScripts(client: Redis): ScriptedRedis {
  for (const [command, source] of Object.entries(scriptSources())) {
    client.defineCommand(command, { lua: source });
  }
  return client as ScriptedRedis;
}

let sources: Record<ScriptName, string> | undefined;

/** Each script's expanded source, read from lua/ once per process. */
export function scriptSources(): Record<ScriptName, string> {
  sources ??= Object.fromEntries(
    Object.entries(SCRIPTS).map(([command, file]) => [command, loadLuaScript(file)]),
  ) as Record<ScriptName, string>;
  return sources;
}

/** Loads into the server's script cache any script it lacks (the cache is empty after a restart). */
export async function ensureScriptsLoaded(client: Redis): Promise<void> {
  const all = Object.values(scriptSources());
  const shas = all.map((source) => createHash('sha1').update(source).digest('hex'));
  const present = (await client.script('EXISTS', ...shas)) as number[];
  for (const [n, source] of all.entries()) {
    if (!present[n]) await client.script('LOAD', source);
  }
}

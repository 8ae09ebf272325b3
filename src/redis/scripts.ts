import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { Cluster } from 'ioredis';
import type { RedisClient } from './connect';
import { LUA_DIR, loadLuaScript } from './luaSource';

/** A script's name: its file name in lua/ without `.lua`. */
export type ScriptName = string;
export type ScriptArg = string | number;

/** The command each script is defined under on the client. */
const commandOf = (name: ScriptName) => `fs_${name}`;

/**
 * Registers every script with ioredis, which sends EVALSHA and falls back to EVAL once when the
 * server does not know the script yet (first call, or after a restart flushed the script cache).
 * No key count is fixed here: runScript passes the length of the keys it is given, so no call
 * site repeats a number that the script's header already states.
 */
export function defineScripts(client: RedisClient): void {
  for (const [name, lua] of Object.entries(scriptSources())) client.defineCommand(commandOf(name), { lua });
}

/** Runs a script defined by defineScripts: KEYS are `keys`, ARGV are `args`. */
export function runScript(client: RedisClient, name: ScriptName, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
  const command = (client as unknown as Record<string, ((...parts: ScriptArg[]) => Promise<unknown>) | undefined>)[commandOf(name)];
  if (!command) throw new Error(`No script lua/${name}.lua was defined on this client`);
  return command.call(client, keys.length, ...keys, ...args);
}

/** The scripts in lua/ (its includes/ aside), by name. */
export function scriptNames(dir = LUA_DIR): ScriptName[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.lua'))
    .map((file) => file.slice(0, -'.lua'.length))
    .sort();
}

let sources: Record<ScriptName, string> | undefined;

/** Each script's expanded source, read from lua/ once per process. */
export function scriptSources(): Record<ScriptName, string> {
  sources ??= Object.fromEntries(scriptNames().map((name) => [name, loadLuaScript(name)]));
  return sources;
}

/**
 * Loads into the server's script cache any script it lacks (the cache is empty after a restart);
 * on a cluster into every master's.
 */
export async function ensureScriptsLoaded(client: RedisClient): Promise<void> {
  if (client instanceof Cluster) {
    await Promise.all(client.nodes('master').map((node) => ensureScriptsLoaded(node)));
    return;
  }
  const all = Object.values(scriptSources());
  const shas = all.map((source) => createHash('sha1').update(source).digest('hex'));
  const present = (await client.script('EXISTS', ...shas)) as number[];
  for (const [n, source] of all.entries()) {
    if (!present[n]) await client.script('LOAD', source);
  }
}

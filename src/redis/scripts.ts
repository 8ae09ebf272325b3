import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { type ChainableCommander, Cluster } from 'ioredis';
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

/**
 * Queues a script on a pipeline: EVALSHA, or EVAL with its source when `withSource` (the server
 * answered NOSCRIPT). The pipeline keeps it in order with what follows it on the same connection,
 * which a defined command's own NOSCRIPT fallback (sent on its own, later) would not.
 */
export function queueScript(pipeline: ChainableCommander, name: ScriptName, keys: readonly string[], args: readonly ScriptArg[], withSource: boolean): void {
  const source = scriptSources()[name];
  if (source === undefined) throw new Error(`No script lua/${name}.lua`);
  if (withSource) pipeline.eval(source, keys.length, ...keys, ...args);
  else pipeline.evalsha(scriptSha(name), keys.length, ...keys, ...args);
}

const shas = new Map<ScriptName, string>();

/** A script's SHA1, as EVALSHA and SCRIPT EXISTS name it. */
function scriptSha(name: ScriptName): string {
  let sha = shas.get(name);
  if (sha === undefined) {
    sha = createHash('sha1').update(scriptSources()[name]).digest('hex');
    shas.set(name, sha);
  }
  return sha;
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
  const all = Object.entries(scriptSources());
  const present = (await client.script('EXISTS', ...all.map(([name]) => scriptSha(name)))) as number[];
  for (const [n, [, source]] of all.entries()) {
    if (!present[n]) await client.script('LOAD', source);
  }
}

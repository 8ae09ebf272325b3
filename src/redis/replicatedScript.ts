import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { CLIENT_OPTIONS, type RedisClient } from './connect';
import { type ScriptArg, type ScriptName, queueScript } from './scripts';

/** REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS: replicas that must have a write before it is answered. */
export interface ReplicaWait {
  replicas: number;
  timeoutMs: number;
}

/**
 * The script ran but WAIT did not confirm enough replicas (or failed): what it did may be lost in a
 * failover, so it is answered like a reply lost in doubt. Not a ReplyError on purpose: the store
 * treats it as a call that may have taken effect.
 */
export class ReplicasBehindError extends Error {
  override name = 'ReplicasBehindError';
}

/** Refusals after which the script did not run and may be sent again (a cluster's slot moved or is moving). */
const REDIRECTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /;
const NO_SCRIPT = /^NOSCRIPT/;
/** Pause before sending again on ASK, TRYAGAIN or CLUSTERDOWN (as CLUSTER_OPTIONS retries TRYAGAIN). */
const RETRY_DELAY_MS = 50;

/**
 * Runs a script, then `WAIT replicas timeout` on the connection that ran it, as one pipeline:
 * inside a script WAIT returns at once, and a keyless WAIT sent alone to a Cluster goes to an
 * arbitrary node. ioredis sends a pipeline whole to the node of its keyed commands, so the WAIT
 * follows the script on that master's connection. A pipeline that holds a write is not sent again
 * by ioredis on MOVED or ASK; the script did not run then, so it is sent again here (MOVED after
 * the slot map is refreshed), within the client's command timeout, like a lone call.
 */
export async function runScriptAndWait(client: RedisClient, script: ScriptName, keys: readonly string[], args: readonly ScriptArg[], wait: ReplicaWait): Promise<unknown> {
  const deadline = Date.now() + CLIENT_OPTIONS.commandTimeout!;
  let withSource = false;
  for (;;) {
    const pipeline = client.pipeline();
    queueScript(pipeline, script, keys, args, withSource);
    pipeline.wait(wait.replicas, wait.timeoutMs);
    const [[scriptError, reply], [waitError, confirmed]] = (await pipeline.exec()) as [Error | null, unknown][];
    if (scriptError) {
      const { message } = scriptError;
      if (NO_SCRIPT.test(message) && !withSource) {
        withSource = true;
        continue;
      }
      if (client instanceof Cluster && REDIRECTED.test(message) && Date.now() < deadline) {
        await (message.startsWith('MOVED') ? refreshSlots(client) : sleep(RETRY_DELAY_MS));
        continue;
      }
      throw scriptError;
    }
    if (waitError) throw new ReplicasBehindError(`WAIT after lua/${script}.lua failed: ${waitError.message}`, { cause: waitError });
    if ((confirmed as number) < wait.replicas) {
      throw new ReplicasBehindError(
        `REDIS_WAIT_REPLICAS is ${wait.replicas}, but ${confirmed} replicas of the shard confirmed lua/${script}.lua within ${wait.timeoutMs} ms`,
      );
    }
    return reply;
  }
}

function refreshSlots(cluster: Cluster): Promise<void> {
  return new Promise((resolve) => cluster.refreshSlotsCache(() => resolve()));
}

/** How many replicas of a master are connected and streaming (INFO replication). */
export async function replicasOnline(node: RedisClient): Promise<number> {
  return ((await node.info('replication')).match(/^slave\d+:.*state=online/gm) ?? []).length;
}

import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Command, type Redis } from 'ioredis';
import { UnavailableError } from '../domain/errors';
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
/** ioredis refused to send a pipeline whose slots its map now puts on several nodes: nothing ran. */
const SPLIT_PIPELINE = /same slots allocation group/;
/** Pause before sending again on ASK, TRYAGAIN or CLUSTERDOWN (as CLUSTER_OPTIONS retries TRYAGAIN). */
const RETRY_DELAY_MS = 50;

/** Calls sent in one pipeline before its WAIT at most (a reserve call already folds up to 128 reserves). */
const MAX_CALLS_PER_WAIT = 64;

/** How often a master found with too few replicas online is asked again (INFO replication). */
const RECHECK_MS = 250;

/** One script call on its way, with what to answer it. */
interface Pending {
  script: ScriptName;
  keys: readonly string[];
  args: readonly ScriptArg[];
  /** Send EVAL with the source: the server answered NOSCRIPT. */
  withSource: boolean;
  /** An undo (ScriptCall.undoes): sent even while the master has too few replicas online. */
  undoes: boolean;
  /** Redirections are followed until then (the client's command timeout), like a lone call's. */
  deadline: number;
  resolve: (reply: unknown) => void;
  reject: (error: unknown) => void;
}

/** A node's calls: those waiting for the pipeline in flight to come back. */
interface Group {
  queue: Pending[];
  sending: boolean;
  /**
   * Set while the node's master has fewer replicas online than REDIS_WAIT_REPLICAS: its calls are
   * answered 503 unsent (nothing ran) instead of each waiting out REDIS_WAIT_TIMEOUT_MS for a WAIT
   * that cannot be met. Found after a WAIT fell short, cleared once INFO shows the replicas back.
   */
  missing?: UnavailableError;
  /** The master's replicas are being counted (watchReplicas). */
  watching: boolean;
}

/**
 * Scripts answered only once `WAIT replicas timeout`, run on the connection of the master that ran
 * them, confirms the replicas have them: inside a script WAIT returns at once, and a keyless WAIT
 * sent alone to a Cluster goes to an arbitrary node. So each script goes out in a pipeline that
 * ends with the WAIT: ioredis sends a pipeline whole to the node of its keyed commands.
 *
 * A WAIT blocks its connection until the replicas answer, so the calls bound for one node (on one
 * Redis, all calls) take turns: those that arrive while a pipeline is out go together in the next,
 * under one WAIT (a group commit), instead of each queueing its own behind the others.
 *
 * A pipeline that holds a write is not sent again by ioredis on MOVED or ASK; its scripts did not
 * run then, so they are sent again here (MOVED after the slot map is refreshed, each to the node
 * the map now names), within the client's command timeout like a lone call. NOSCRIPT sends the
 * source (EVAL) in the same place.
 *
 * A WAIT that falls short makes the master be asked how many replicas it has online; while fewer
 * than asked, its calls are answered at once, unsent.
 */
export class ReplicatedScripts {
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly client: RedisClient,
    private readonly wait: ReplicaWait,
  ) {}

  run(script: ScriptName, keys: readonly string[], args: readonly ScriptArg[], undoes = false): Promise<unknown> {
    const deadline = Date.now() + CLIENT_OPTIONS.commandTimeout!;
    return new Promise((resolve, reject) => this.enqueue({ script, keys, args, withSource: false, undoes, deadline, resolve, reject }));
  }

  /** Queues a call behind the others bound for its node, or ahead of them when it is sent again. */
  private enqueue(call: Pending, again = false): void {
    const node = this.nodeOf(call.keys);
    let group = this.groups.get(node);
    if (!group) this.groups.set(node, (group = { queue: [], sending: false, watching: false }));
    if (refusedUnsent(group, call)) return;
    if (again) group.queue.unshift(call);
    else group.queue.push(call);
    if (!group.sending) void this.send(group);
  }

  /** The node the slot map names for a call's keys (all in one slot: keys.ts); '' on one Redis. */
  private nodeOf(keys: readonly string[]): string {
    if (!(this.client instanceof Cluster)) return '';
    const slot = new Command('get', [keys[0]]).getSlot();
    return this.client.slots[slot]?.[0] ?? `slot ${slot}`;
  }

  private async send(group: Group): Promise<void> {
    group.sending = true;
    try {
      while (group.queue.length) {
        const batch = group.queue.splice(0, MAX_CALLS_PER_WAIT).filter((call) => !refusedUnsent(group, call));
        if (batch.length) await this.sendBatch(batch, group);
      }
    } finally {
      group.sending = false;
    }
  }

  /** One pipeline: the calls' scripts, then one WAIT; answers each call, or queues it again. */
  private async sendBatch(batch: Pending[], group: Group): Promise<void> {
    // Only undoes get here while the master has too few replicas: they run, without a WAIT that
    // cannot be met, and stay in doubt (their callers send them again once the replicas are back).
    const { missing } = group;
    const pipeline = this.client.pipeline();
    for (const call of batch) queueScript(pipeline, call.script, call.keys, call.args, call.withSource);
    if (!missing) pipeline.wait(this.wait.replicas, this.wait.timeoutMs);
    let results: [Error | null, unknown][];
    try {
      results = (await pipeline.exec()) as [Error | null, unknown][];
    } catch (error) {
      if (!SPLIT_PIPELINE.test((error as Error).message)) for (const call of batch) call.reject(error);
      else await this.sendAgain(batch, error as Error, 'MOVED');
      return;
    }
    const [waitError, confirmed] = missing ? [null, 0] : results[batch.length];
    const shortBy = missing
      ? (missing.cause as Error).message
      : waitError
        ? `WAIT failed: ${waitError.message}`
        : (confirmed as number) < this.wait.replicas
          ? `REDIS_WAIT_REPLICAS is ${this.wait.replicas}, but ${confirmed} replicas of the shard confirmed the write within ${this.wait.timeoutMs} ms`
          : undefined;
    if (!missing && !waitError && shortBy) void this.watchReplicas(batch[0].keys, group);
    const noScript: Pending[] = [];
    const redirected: Pending[] = [];
    let redirection: Error | undefined;
    batch.forEach((call, n) => {
      const [error, reply] = results[n];
      if (!error) {
        if (shortBy) call.reject(new ReplicasBehindError(shortBy, { cause: waitError ?? undefined }));
        else call.resolve(reply);
      } else if (NO_SCRIPT.test(error.message) && !call.withSource) {
        call.withSource = true;
        noScript.push(call);
      } else if (this.client instanceof Cluster && REDIRECTED.test(error.message)) {
        if (!redirection?.message.startsWith('MOVED')) redirection = error;
        redirected.push(call);
      } else {
        call.reject(error);
      }
    });
    for (const call of noScript.reverse()) this.enqueue(call, true);
    if (redirection) await this.sendAgain(redirected, redirection, redirection.message.startsWith('MOVED') ? 'MOVED' : 'later');
  }

  /**
   * Asks the master of `keys` how many replicas it has online, and again every RECHECK_MS while
   * too few: meanwhile its group's calls are refused unsent. A master that cannot be asked is left
   * to its WAITs.
   */
  private async watchReplicas(keys: readonly string[], group: Group): Promise<void> {
    if (group.watching) return;
    group.watching = true;
    const master = this.masterOf(keys);
    const { replicas } = this.wait;
    try {
      let online = await replicasOnline(master);
      while (online < replicas && this.nodeClientIs(keys, master)) {
        group.missing = replicasMissing(master, online, replicas);
        await sleep(RECHECK_MS);
        online = await replicasOnline(master);
      }
    } catch {
      // Unreachable: its calls meet the same error themselves.
    } finally {
      group.missing = undefined;
      group.watching = false;
    }
  }

  /** The client of the master a call's keys go to: the one Redis, or the cluster node its slot map names. */
  private masterOf(keys: readonly string[]): Redis {
    if (!(this.client instanceof Cluster)) return this.client;
    const node = this.nodeOf(keys);
    return this.client.nodes('master').find(({ options }) => `${options.host}:${options.port}` === node) ?? this.client.nodes('master')[0];
  }

  /** Whether the slot map still sends `keys` to `master` (a failover may have moved them on). */
  private nodeClientIs(keys: readonly string[], master: Redis): boolean {
    return this.masterOf(keys) === master;
  }

  /**
   * Calls whose scripts did not run (redirected, or a pipeline ioredis would not send), queued
   * again once the slot map is refreshed (MOVED) or after a pause; past their deadline, refused.
   */
  private async sendAgain(calls: Pending[], cause: Error, when: 'MOVED' | 'later'): Promise<void> {
    if (when === 'MOVED') await followMoved(this.client as Cluster, cause, Math.min(...calls.map((call) => call.deadline)));
    else await sleep(RETRY_DELAY_MS);
    for (const call of calls.reverse()) {
      if (Date.now() < call.deadline) this.enqueue(call, true);
      else call.reject(cause);
    }
  }
}

/** Refuses a call unsent while its master has too few replicas online (an undo goes all the same); true when refused. */
function refusedUnsent(group: Group, call: Pending): boolean {
  if (!group.missing || call.undoes) return false;
  call.reject(group.missing);
  return true;
}

/**
 * Refreshes the slot map until it names the node a MOVED pointed to (once, for a pipeline ioredis
 * would not send), or until `until` (the calls' deadline): the calls then go where the map says.
 * A refresh asks one node at random, and a replica (or a master the move's gossip has not reached)
 * may still name the old owner for a while on a loaded machine: the calls would go back there for
 * one more MOVED and one more WAIT. A refresh asked while one is running ends with it, and that
 * one may have begun before the move.
 */
async function followMoved(cluster: Cluster, moved: Error, until: number): Promise<void> {
  const [word, slot, target] = moved.message.split(' ');
  for (;;) {
    await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
    if (word !== 'MOVED' || cluster.slots[Number(slot)]?.[0] === target || Date.now() + REFRESH_PAUSE_MS >= until) return;
    await sleep(REFRESH_PAUSE_MS);
  }
}

/** Pause between slot map refreshes while the map does not yet name a MOVED's target. */
const REFRESH_PAUSE_MS = 10;

/** The 503 of a master with fewer replicas online than REDIS_WAIT_REPLICAS: its writes cannot be acknowledged. */
export function replicasMissing(master: Redis, online: number, replicas: number): UnavailableError {
  const { host, port, path } = master.options;
  const why = new Error(`REDIS_WAIT_REPLICAS is ${replicas}, but the Redis master at ${path ?? `${host}:${port}`} has ${online} replicas online`);
  return new UnavailableError('Redis', why, `writes are answered 503 until it has ${replicas}`);
}

/** How many replicas of a master are connected and streaming (INFO replication). */
export async function replicasOnline(node: RedisClient): Promise<number> {
  return ((await node.info('replication')).match(/^slave\d+:.*state=online/gm) ?? []).length;
}

import { randomUUID } from 'node:crypto';
import { type ChainableCommander, Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connect';
import { DomainError, RedisDataLostError, UnavailableError } from '../domain/errors';
import type { RedisKeys } from './keys';
import { type ReplicaWait, ReplicatedScripts, replicasMissing, replicasOnline } from './replicatedScript';
import { type ScriptCall, markRebuiltCall } from './scriptCalls';
import { runScript } from './scripts';

export interface EngineTuning {
  recordRetentionSeconds: number;
  /** The hold a line's admitted shopper gets when the line names none (RESERVATION_TTL_SECONDS). */
  defaultHoldTtlSeconds: number;
  idempotencyTtlSeconds: number;
  lazySweepLimit: number;
  /** Replicas that must have a write a client is told about before it is answered (REDIS_WAIT_REPLICAS; 0: none). */
  redisWait: ReplicaWait;
}

export const DEFAULT_TUNING: EngineTuning = {
  recordRetentionSeconds: 3600,
  defaultHoldTtlSeconds: 900,
  idempotencyTtlSeconds: 24 * 3600,
  lazySweepLimit: 100,
  redisWait: { replicas: 0, timeoutMs: 200 },
};

/**
 * A call that may reach Redis without an answer (a timeout, a connection lost mid-call): what the
 * 503 then tells the client, and what to do about it.
 */
export interface Doubt {
  consequence: string;
  onDoubt?: () => void;
}

/** How long a rebuild's token lasts: longer than any rebuild (one outliving it is rebuilt again). */
const REBUILD_TOKEN_TTL_MS = 24 * 3600_000;

/**
 * A script that failed while running is a bug (500); every other Redis error reply (OOM, LOADING,
 * BUSY, READONLY, MISCONF, …) means Redis cannot serve now: 503, like a lost connection.
 */
const SCRIPT_BUG = /user_script|Error running script/;

/** ioredis refused to send the command (the connection is down): it cannot have run. */
const NEVER_SENT = /Stream isn't writeable/;

/**
 * The one way the engine talks to Redis: scripts by name with their keys and arguments, plain
 * commands, and pipelined reads, each failing closed (503 UNAVAILABLE) when Redis cannot answer.
 * The client operations (stockEngine.ts), the maintenance (stockMaintenance.ts, outbox.ts) and
 * the leases (lease.ts) are built on it; nothing else holds the client.
 */
export class RedisStore {
  /** Partitions whose data Redis lost, answered 503 until the data watch rebuilt them. */
  readonly lostPartitions = new Set<number>();
  /** With REDIS_WAIT_REPLICAS: the calls a client is told about, each followed by its WAIT. */
  private readonly replicated?: ReplicatedScripts;

  constructor(
    private readonly client: RedisClient,
    readonly keys: RedisKeys,
    readonly tuning: EngineTuning,
  ) {
    if (tuning.redisWait.replicas > 0) this.replicated = new ReplicatedScripts(client, tuning.redisWait);
  }

  /**
   * Runs one script call (built in scriptCalls.ts). A call a client is told about waits for
   * REDIS_WAIT_REPLICAS replicas first; a WAIT that falls short is answered as in doubt.
   */
  run<Reply = unknown>({ script, keys, args, acknowledged, undoes }: ScriptCall, doubt?: Doubt): Promise<Reply> {
    const { replicated } = this;
    if (acknowledged && replicated) return this.call(() => replicated.run(script, keys, args, undoes === true) as Promise<Reply>, doubt);
    return this.call(() => runScript(this.client, script, keys, args) as Promise<Reply>, doubt);
  }

  /** Runs plain commands on the client; Redis unreachable or refusing becomes 503. */
  async call<T>(run: (client: RedisClient) => Promise<T>, doubt?: Doubt): Promise<T> {
    try {
      return await run(this.client);
    } catch (error) {
      const { name, message } = error as Error;
      if (error instanceof DomainError) throw error;
      if (name === 'ReplyError') {
        if (SCRIPT_BUG.test(message)) throw error;
        throw new UnavailableError('Redis', error);
      }
      if (NEVER_SENT.test(message) || !doubt) throw new UnavailableError('Redis', error);
      doubt.onDoubt?.();
      throw new UnavailableError('Redis', error, doubt.consequence);
    }
  }

  /** HMGET of several hashes: one pipeline per partition (a cluster runs a pipeline in one slot). */
  readHashes(keys: readonly string[], fields: readonly string[]): Promise<(string | null)[][]> {
    return this.pipelined(keys, (pipeline, key) => pipeline.hmget(key, ...fields)) as Promise<(string | null)[][]>;
  }

  /** Every field of several hashes in one round trip per partition; {} where a hash is missing. */
  readWholeHashes(keys: readonly string[]): Promise<Record<string, string>[]> {
    return this.pipelined(keys, (pipeline, key) => pipeline.hgetall(key)) as Promise<Record<string, string>[]>;
  }

  /** One command per key, sent as one pipeline per partition; the replies in the order of `keys`. */
  pipelined(keys: readonly string[], command: (pipeline: ChainableCommander, key: string) => void): Promise<unknown[]> {
    return this.call(async (client) => {
      const byPartition = new Map<number, number[]>();
      keys.forEach((key, n) => {
        const partition = this.keys.partitionOfKey(key);
        byPartition.set(partition, [...(byPartition.get(partition) ?? []), n]);
      });
      const replies = new Array<unknown>(keys.length);
      await Promise.all(
        [...byPartition.values()].map(async (positions) => {
          const pipeline = client.pipeline();
          for (const n of positions) command(pipeline, keys[n]);
          ((await pipeline.exec()) ?? []).forEach(([error, value], k) => {
            if (error) throw error;
            replies[positions[k]] = value;
          });
        }),
      );
      return replies;
    });
  }

  /** Redis server time in ms: the clock that decides expiry. */
  async timeMs(): Promise<number> {
    const [seconds, micros] = await this.call((client) => client.time());
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Whether Redis still holds a partition's data (see RedisKeys.dataMarker). */
  async hasDataMarker(partition: number): Promise<boolean> {
    return (await this.call((client) => client.exists(this.keys.dataMarker(partition)))) === 1;
  }

  /**
   * Begins a rebuild of a partition (or the start-up check of one): writes its token
   * (RedisKeys.rebuildToken) before anything is read from Postgres, and answers it.
   */
  async beginRebuild(partition: number): Promise<string> {
    const token = randomUUID();
    await this.call((client) => client.set(this.keys.rebuildToken(partition, token), new Date().toISOString(), 'PX', REBUILD_TOKEN_TTL_MS));
    return token;
  }

  /**
   * Marks a partition as holding the engine's data once its rebuild is done; false, and no
   * marker, when Redis lost the data again meanwhile (the rebuild's token is gone).
   */
  async finishRebuild(partition: number, token: string): Promise<boolean> {
    return (await this.run<number>(markRebuiltCall(this.keys, partition, token))) === 1;
  }

  /**
   * With REDIS_WAIT_REPLICAS, 503 naming a master with fewer replicas online: its writes cannot be
   * acknowledged (readiness, and what ends an outage in the log).
   */
  async assertReplicasOnline(): Promise<void> {
    const { replicas } = this.tuning.redisWait;
    if (!replicas) return;
    for (const node of this.client instanceof Cluster ? this.client.nodes('master') : [this.client]) {
      const online = await this.call(() => replicasOnline(node));
      if (online < replicas) throw replicasMissing(node as Redis, online, replicas);
    }
  }

  /** 503 while a partition's data is being rebuilt: nothing it answers could be trusted. */
  assertServing(partition: number): void {
    if (this.lostPartitions.has(partition)) throw new RedisDataLostError();
  }

  /**
   * Something of a partition was not found: fine while Redis holds that partition's data, a 503
   * when Redis lost it (the data watch rebuilds it), never a 404 for what Redis merely forgot.
   */
  async confirmNotFound(partition: number): Promise<void> {
    if (await this.hasDataMarker(partition)) return;
    this.lostPartitions.add(partition);
    throw new RedisDataLostError();
  }
}

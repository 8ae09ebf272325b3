import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { RedisNode } from '../config';

/** The engine's Redis: one server (REDIS_URL or the embedded one) or a Redis Cluster (REDIS_CLUSTER_NODES). */
export type RedisClient = Redis | Cluster;

/**
 * Client settings chosen so a dead Redis is answered fast and never double-applies a script:
 * - no offline queue and no retries: while disconnected every call fails at once (503);
 * - no automatic re-send of commands that were in flight when the connection dropped, since a
 *   script that already ran must not run twice;
 * - a command timeout, so a hung server cannot hang a request;
 * - no auto-pipelining: ioredis keeps one auto-pipeline in flight per server, so every call would
 *   wait for the previous round trip (and its AOF fsync); reserves are batched by the engine
 *   instead (reserveBatcher.ts), and other calls go out at once.
 */
export const CLIENT_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: 2000,
  connectTimeout: 2000,
  enableAutoPipelining: false,
  lazyConnect: true,
  retryStrategy: (attempt) => Math.min(50 * attempt, 500),
};

/**
 * The same intent on a Redis Cluster. A command is re-sent only where Redis said it did not run it:
 * - MOVED and ASK (a slot moved or is migrating) are followed at once (retryDelayOnMoved 0), at
 *   most `maxRedirections` hops;
 * - CLUSTERDOWN and TRYAGAIN (no master for the slot; a multi-key call over keys half migrated,
 *   as during every `redis-cli --cluster reshard` of a partition's slot) are retried every 100 /
 *   50 ms within the same hops, as many as the command timeout allows (64 hops would take longer):
 *   a slot migration of up to about 2 s is ridden out, then the call fails like a dead single Redis
 *   (503). With 16 hops a migration longer than 0.8 s was an outage of its partition;
 * - a dropped connection is never retried (retryDelayOnFailover 0, which ioredis also applies to
 *   calls in flight: a script that may have run must not run twice). A lost node is not
 *   reconnected by itself (clusterNodeRetryStrategy null): the next call for its slots goes to
 *   another node, which answers MOVED to the node that now serves them: the dead one until a
 *   replica takes over (the call fails at once, connection refused), then the new master, or the
 *   same address once it is back;
 * - commandTimeout starts when a call is first sent to a node and is not reset by redirections,
 *   so no call waits much longer than 2 s. A call that timed out while waiting to be retried may
 *   still be sent once (ioredis does not check): a timeout means "outcome unknown", as on one Redis;
 * - `enableOfflineQueue: false` refuses a call at once while the client has no slot map, and
 *   while the connection to its node is (re)connecting. (ioredis always gives node connections
 *   an offline queue of their own; it only holds calls to a node not yet connecting.)
 *
 * Scripts: `defineCommand` works on a Cluster (EVALSHA, with EVAL on NOSCRIPT, to the node of the
 * keys), and every key of one call must share one hash slot (one `{tag}`): Redis refuses others
 * with CROSSSLOT. Pipelines and MULTI: ioredis sends a whole pipeline to one node, so all keys of
 * one pipeline must be in one slot too; only a fully read-only pipeline is re-sent on MOVED.
 */
export const CLUSTER_OPTIONS: ClusterOptions = {
  enableOfflineQueue: false,
  enableAutoPipelining: false,
  lazyConnect: true,
  maxRedirections: 64,
  retryDelayOnMoved: 0,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 50,
  retryDelayOnFailover: 0,
  // CLUSTER SLOTS from one node; a hung node costs this much before the next is asked.
  slotsRefreshTimeout: 1000,
  // When no startup node answers: keep trying, like the single client's retryStrategy (null would end the client).
  clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 1000),
  redisOptions: {
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: CLIENT_OPTIONS.commandTimeout,
    connectTimeout: CLIENT_OPTIONS.connectTimeout,
  },
};

/** A client for `url`: redis://…, rediss://…, unix:///path/redis.sock or a bare socket path. */
export function createRedisClient(url: string): Redis {
  return new Redis(url.startsWith('unix://') ? url.slice('unix://'.length) : url, CLIENT_OPTIONS);
}

/**
 * A client for the Redis Cluster that `nodes` belong to (a few suffice: it discovers the others).
 *
 * Once ready it connects to every master at once, and to each new one as soon as it learns of it.
 * ioredis would connect a node on its first call, and with `enableOfflineQueue: false` it refuses
 * every call to a node that is still connecting (and an ASK to it): the first burst of calls to
 * each master would fail. Not before 'ready': the ready check itself must not meet a node that is
 * connecting. (Deferred one tick, so the call that made a node known is queued on it first.)
 */
export function createRedisCluster(nodes: RedisNode[]): Cluster {
  const cluster = new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    CLUSTER_OPTIONS,
  );
  // A failed connect ends the node: its calls fail fast until a MOVED or a refresh brings it back.
  const connectIdle = (node: Redis) => node.status === 'wait' && !node.options.readOnly && node.connect().catch(() => {});
  cluster.on('ready', () => cluster.nodes('master').forEach(connectIdle));
  cluster.on('+node', (node: Redis) => process.nextTick(() => cluster.status === 'ready' && connectIdle(node)));
  return cluster;
}

/** The client the config asks for: REDIS_CLUSTER_NODES when set, else `url` (REDIS_URL or the embedded server's). */
export function createConfiguredClient(config: { redisClusterNodes: RedisNode[] | undefined }, url: string): RedisClient {
  return config.redisClusterNodes ? createRedisCluster(config.redisClusterNodes) : createRedisClient(url);
}

/** Connects, retrying until `timeoutMs` passes (a Redis that is still starting is not an error). */
export async function connectWithRetry(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (client instanceof Cluster) return connectCluster(client, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      client.disconnect();
      await sleep(100);
    }
  }
}

/** A node connection that neither works nor has failed yet. */
const settling = (node: Redis) => ['wait', 'connecting', 'connect'].includes(node.status);

/**
 * A Cluster reconnects by itself (clusterRetryStrategy), and its connect() promise may never
 * settle (when CLUSTER INFO says `fail` it starts over inside): so start it once and watch its
 * status until it is ready, a node answers PING and every master's connection is up or has
 * failed (a dead master leaves only its own slots failing).
 */
async function connectCluster(cluster: Cluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  const remember = (error: unknown) => (lastError = error);
  cluster.on('error', remember);
  try {
    for (;;) {
      if (cluster.status === 'wait' || cluster.status === 'end') cluster.connect().catch(remember);
      if (cluster.status === 'ready') {
        try {
          await cluster.ping();
          if (!cluster.nodes('master').some(settling)) return;
        } catch (error) {
          remember(error);
        }
      }
      if (Date.now() > deadline) {
        cluster.disconnect();
        throw lastError ?? new Error(`the Redis Cluster was not ready within ${timeoutMs} ms (status ${cluster.status})`);
      }
      await sleep(50);
    }
  } finally {
    cluster.off('error', remember);
  }
}

import { Redis, Cluster, type RedisOptions } from 'ioredis';

/**
 * Client settings chosen so a dead Redis is answered fast and never double-applies a script:
 * - no offline queue and no retries: while disconnected every call fails at once (503);
 * - no automatic re-send of commands that were in flight when the connection dropped, since a
 *   script that already ran must not run twice;
 * - a command timeout, so a hung server cannot hang a request;
 * - auto-pipelining: calls made in the same event-loop turn share one write.
 */
export const CLIENT_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: 2000,
  connectTimeout: 2000,
  enableAutoPipelining: true,
  lazyConnect: true,
  retryStrategy: (attempt) => Math.min(50 * attempt, 500),
};

export interface RedisTarget {
  url?: string;
  clusterNodes?: string[];
}

export function createRedisClient(target: RedisTarget): Redis | Cluster {
  if (target.clusterNodes?.length) {
    const nodes = target.clusterNodes.map((node) => {
      const [host, port] = node.split(':');
      return { host, port: Number(port) };
    });
    return new Cluster(nodes, {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      lazyConnect: true,
      redisOptions: CLIENT_OPTIONS,
    });
  }
  if (!target.url) throw new Error('createRedisClient needs a url or cluster nodes');
  // unix:///path/redis.sock and a bare socket path both mean a unix socket.
  const url = target.url.startsWith('unix://') ? target.url.slice('unix://'.length) : target.url;
  return new Redis(url, CLIENT_OPTIONS);
}

/** Connects, retrying until `timeoutMs` passes (a Redis that is still starting is not an error). */
export async function connectWithRetry(client: Redis | Cluster, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      client.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

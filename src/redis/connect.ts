import { Redis, type RedisOptions } from 'ioredis';

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

/** A client for `url`: redis://…, rediss://…, unix:///path/redis.sock or a bare socket path. */
export function createRedisClient(url: string): Redis {
  return new Redis(url.startsWith('unix://') ? url.slice('unix://'.length) : url, CLIENT_OPTIONS);
}

/** Connects, retrying until `timeoutMs` passes (a Redis that is still starting is not an error). */
export async function connectWithRetry(client: Redis, timeoutMs = 10_000): Promise<void> {
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

import { Redis } from 'ioredis';

/**
 * One command to one Redis node, on a connection of its own that gives up fast: for managing
 * servers and cluster nodes (CLUSTER INFO, CLIENT PAUSE, FLUSHALL…), never for the engine's traffic.
 */
export async function askNode(port: number, args: (string | number)[], timeoutMs = 1000): Promise<unknown> {
  const node = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, commandTimeout: timeoutMs });
  node.on('error', () => {});
  try {
    await node.connect();
    return await node.call(String(args[0]), ...args.slice(1));
  } finally {
    node.disconnect();
  }
}

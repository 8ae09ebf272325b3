/**
 * The sold-out reads' own thread: it reads the SKUs the request thread watches and posts what it
 * finds on their shared board. Under thousands of connections the request thread's event loop runs
 * hundreds of milliseconds behind, so a reply read there comes too late to renew the 100 ms its
 * answers may rest on; here nothing else waits in line before it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectWithRetry, createConfiguredClient } from '../redis/connect';
import { RedisKeys } from '../redis/keys';
import { DEFAULT_TUNING, RedisStore } from '../redis/redisStore';
import { defineScripts } from '../redis/scripts';
import { SoldOutBoard } from '../redis/soldOutBoard';
import { SoldOutReads } from '../redis/soldOutReads';
import type { SoldOutThreadInit, SoldOutThreadMessage } from './messages';
import { THREAD_NAMES, nameThisThread } from './threadName';

async function main(): Promise<void> {
  nameThisThread(THREAD_NAMES.soldOut);
  const { config, redisUrl, board } = workerData as SoldOutThreadInit;
  const port = parentPort!;
  const redis = createConfiguredClient(config, redisUrl);
  redis.on('error', () => {});
  await connectWithRetry(redis);
  defineScripts(redis);
  const store = new RedisStore(redis, new RedisKeys(config.keyPrefix, config.redisPartitions), DEFAULT_TUNING);
  const reads = new SoldOutReads(store, new SoldOutBoard(board));
  port.on('message', async (message: SoldOutThreadMessage) => {
    if (message === 'close') {
      await reads.stop();
      redis.disconnect();
      port.postMessage('closed');
    } else if (message.type === 'watch') reads.watch(message.slot, message.sku, message.buckets);
    else reads.unwatch(message.slot);
  });
  port.postMessage('ready');
}

main().catch((error) => {
  parentPort!.postMessage({ fatal: (error as Error).stack ?? String(error) });
});

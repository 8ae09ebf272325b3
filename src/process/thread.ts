/**
 * The engine's background thread: it runs reconciler passes, sends webhook deliveries and, when
 * Postgres is the embedded PGlite, hosts the database itself and answers the main thread's
 * queries. Passes and PGlite are CPU work (PGlite is WebAssembly running on the calling thread)
 * that must never stall the HTTP event loop.
 */
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/client';
import { Reconciler } from '../reconciler/reconciler';
import { connectWithRetry, createConfiguredClient } from '../redis/connect';
import { createStockServices, stockSettingsOf } from '../redis/stockServices';
import { WebhookDispatcher } from '../webhooks/dispatcher';
import type { BackgroundInit } from './messages';
import { type PassResult, type RpcCall, serveCall } from './rpc';
import { THREAD_NAMES, nameThisThread } from './threadName';

/**
 * Nice value of this thread: the lowest priority. On Linux a nice value belongs to the thread, so
 * this lowers only the background work: under a burst the HTTP thread and Redis get the cores
 * first, and the drain runs on what they leave (the events wait safely in Redis meanwhile).
 * Queries the main thread sends to PGlite here wait behind the burst too; none is on the
 * reserve/commit/release path.
 */
const BACKGROUND_NICE = 19;

async function main(): Promise<void> {
  nameThisThread(THREAD_NAMES.background);
  try {
    os.setPriority(BACKGROUND_NICE);
  } catch {
    // Not permitted here (some containers): the thread keeps the process's priority.
  }
  const { config, redisUrl } = workerData as BackgroundInit;
  const port = parentPort!;
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const redis = createConfiguredClient(config, redisUrl);
  redis.on('error', () => {});
  await connectWithRetry(redis);
  const { maintenance, lease } = createStockServices(redis, stockSettingsOf(config));
  let expiriesDrained = 0;
  const reconciler = new Reconciler(maintenance, lease, database.db, { refused: () => {}, finished: (_report, drained) => (expiriesDrained = drained) });
  // Webhook deliveries go out from here too: off the HTTP event loop, at the thread's low priority.
  const webhooks = new WebhookDispatcher(database.db, { ...config.webhooks, allowPrivate: config.webhookAllowPrivate }).start();
  const pglite = database.kind === 'pglite' ? (database.client as { query: (sql: string, params: unknown[], options: object) => Promise<{ rows: unknown[] }> }) : null;

  const serve = async (call: RpcCall): Promise<unknown> => {
    if (call.kind === 'query') {
      if (!pglite) throw new Error('queries are answered here only for the embedded Postgres');
      return (await pglite.query(call.sql, call.params, { rowMode: call.method === 'all' ? 'array' : 'object' })).rows;
    }
    if (call.kind === 'reconcile') {
      const report = await reconciler.run(call.trigger, { repair: call.repair });
      return { report, expiriesDrained } satisfies PassResult;
    }
    if (call.kind === 'moveUnits') return reconciler.moveUnits(call.source, call.target, call.qty, call.location);
    if (call.kind === 'recordFacts') return reconciler.recordFactsAhead(call.partition, call.entryId, call.epochRead);
    throw new Error(`the background thread answers no ${call.kind} call`);
  };
  port.on('message', async (call: RpcCall | 'close') => {
    if (call === 'close') {
      await webhooks.stop();
      redis.disconnect();
      await database.close();
      port.postMessage('closed');
      return;
    }
    port.postMessage(await serveCall(call.id, () => serve(call)));
  });
  port.postMessage('ready');
}

main().catch((error) => {
  parentPort!.postMessage({ fatal: (error as Error).stack ?? String(error) });
});

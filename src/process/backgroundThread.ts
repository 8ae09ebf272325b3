import type { Worker } from 'node:worker_threads';
import { drizzle } from 'drizzle-orm/pg-proxy';
import type { Config } from '../config';
import type { Database } from '../db/client';
import * as schema from '../db/schema';
import { DomainError, UnavailableError } from '../domain/errors';
import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';
import type { ReconcileObserver, ReconcileRunner } from '../reconciler/runner';
import type { BackgroundInit } from './messages';
import { type PassResult, type RpcAnswer, RpcClient } from './rpc';
import { closeWorkerThread, startWorkerThread } from './workerThread';

/**
 * A drizzle database whose statements are run elsewhere by `query` (the background thread, or the
 * primary process for a worker); a failure there is a 503 naming Postgres.
 */
export function proxyDatabase(query: (sql: string, params: unknown[], method: 'all' | 'execute') => Promise<unknown[]>): Database {
  return drizzle(
    async (sql, params, method) => {
      const rows = await query(sql, params, method === 'all' ? 'all' : 'execute').catch((error: Error) => {
        throw error instanceof UnavailableError ? error : new UnavailableError('Postgres', error);
      });
      return { rows: rows as never[] };
    },
    { schema },
  ) as unknown as Database;
}

/**
 * The main thread's side of the background thread (thread.ts), over rpc.ts: runs reconciler
 * passes there and, with the embedded Postgres, gives this thread a drizzle database whose
 * statements run there.
 */
export class BackgroundThread implements ReconcileRunner {
  observer?: ReconcileObserver;
  private readonly rpc: RpcClient;
  /** Set once the thread has died: nothing is left to close. */
  private dead = false;

  private constructor(private readonly worker: Worker) {
    this.rpc = new RpcClient('The background thread', (call) => worker.postMessage(call));
    worker.on('message', (message: RpcAnswer | string) => {
      if (typeof message !== 'string') this.rpc.receive(message);
    });
    // A dead thread (an uncaught error, process.exit there, termination) answers nothing more:
    // its callers get a 503 instead of waiting forever. 'error' comes before 'exit' and says why.
    const threadDied = (cause: Error) => {
      this.dead = true;
      this.rpc.peerGone(cause);
    };
    worker.on('error', threadDied);
    worker.on('exit', (code) => threadDied(new Error(`the background thread exited with code ${code}`)));
  }

  static async start(config: Config, redisUrl: string): Promise<BackgroundThread> {
    const init: BackgroundInit = { config, redisUrl };
    const worker = await startWorkerThread('thread', init);
    return new BackgroundThread(worker);
  }

  async run(trigger: ReconcileTrigger, options: { repair?: boolean } = {}): Promise<ReconcileReport> {
    return (await this.pass(trigger, options)).report;
  }

  /** A pass on the background thread, with what it drained; also what the primary runs for its workers. */
  async pass(trigger: ReconcileTrigger, options: { repair?: boolean } = {}): Promise<PassResult> {
    try {
      const result = await this.rpc.call<PassResult>({ kind: 'reconcile', trigger, repair: options.repair ?? false });
      this.observer?.finished(result.report, result.expiriesDrained);
      return result;
    } catch (error) {
      if (error instanceof DomainError && error.code === 'RECONCILE_IN_PROGRESS') this.observer?.refused(trigger);
      throw error;
    }
  }

  /**
   * One statement on the embedded Postgres in the background thread: its rows (arrays for
   * `all`, objects for `execute`), as drizzle's pg-proxy expects them. Rejects with Postgres's
   * message. Also what the primary process runs for its workers (primary.ts).
   */
  query(sql: string, params: unknown[], method: 'all' | 'execute'): Promise<unknown[]> {
    return this.rpc.call<unknown[]>({ kind: 'query', sql, params, method });
  }

  /** A drizzle database whose statements run on the embedded Postgres in the background thread. */
  embeddedDatabase(): Database {
    return proxyDatabase((sql, params, method) => this.query(sql, params, method));
  }

  async close(): Promise<void> {
    await closeWorkerThread(this.worker, !this.dead, 10_000);
  }
}

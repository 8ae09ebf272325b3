import { Worker } from 'node:worker_threads';
import { drizzle } from 'drizzle-orm/pg-proxy';
import type { Config } from '../config';
import type { Database } from '../db/client';
import * as schema from '../db/schema';
import { DomainError, type ErrorCode, UnavailableError } from '../domain/errors';
import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';
import type { ReconcileObserver, ReconcileRunner } from '../reconciler/runner';
import type { BackgroundInit, Request, Response } from './messages';

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

type Pending = { resolve: (response: Response) => void; reject: (error: Error) => void };
type Body = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

/**
 * Main-thread side of the background thread (see thread.ts): runs reconciler passes there and,
 * with the embedded Postgres, gives the main thread a drizzle database whose queries run there.
 */
export class BackgroundServices implements ReconcileRunner {
  observer?: ReconcileObserver;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Set once the thread has died: every later call fails with it at once. */
  private threadGone?: UnavailableError;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (message: Response | string) => {
      if (typeof message === 'string') return;
      this.pending.get(message.id)?.resolve(message);
      this.pending.delete(message.id);
    });
    // A dead thread (an uncaught error, process.exit there, termination) answers nothing more:
    // its callers get a 503 instead of waiting forever. 'error' comes before 'exit' and says why.
    const threadDied = (cause: Error) => {
      if (this.threadGone) return;
      this.threadGone = new UnavailableError('The background thread', cause);
      const inFlight = new UnavailableError('The background thread', cause, 'what it was running may or may not have finished');
      for (const call of this.pending.values()) call.reject(inFlight);
      this.pending.clear();
    };
    worker.on('error', threadDied);
    worker.on('exit', (code) => threadDied(new Error(`the background thread exited with code ${code}`)));
  }

  static async start(config: Config, redisUrl: string): Promise<BackgroundServices> {
    const init: BackgroundInit = { config, redisUrl };
    const worker = new Worker(new URL(import.meta.url.endsWith('.js') ? './thread.js' : './threadEntry.mjs', import.meta.url), { workerData: init });
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (message: 'ready' | { fatal: string }) => {
        if (message === 'ready') resolve();
        else reject(new Error(`background thread failed to start: ${message.fatal}`));
      });
    });
    return new BackgroundServices(worker);
  }

  private request(body: Body): Promise<Response> {
    if (this.threadGone) return Promise.reject(this.threadGone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id } as Request);
    });
  }

  async run(trigger: ReconcileTrigger, options: { repair?: boolean } = {}): Promise<ReconcileReport> {
    const response = await this.request({ kind: 'reconcile', trigger, repair: options.repair ?? false });
    if (response.ok) {
      this.observer?.finished(response.report!, response.expiriesDrained ?? 0);
      return response.report!;
    }
    if (response.error.code === 'RECONCILE_IN_PROGRESS') this.observer?.refused(trigger);
    if (response.error.code) throw new DomainError(response.error.code as ErrorCode, response.error.message);
    throw new Error(response.error.message);
  }

  /**
   * One statement on the embedded Postgres in the background thread: its rows (arrays for
   * `all`, objects for `execute`), as drizzle's pg-proxy expects them. Rejects with Postgres's
   * message. Also what the primary process runs for its workers (src/workers/primary.ts).
   */
  async query(sql: string, params: unknown[], method: 'all' | 'execute'): Promise<unknown[]> {
    const response = await this.request({ kind: 'query', sql, params, method });
    if (!response.ok) throw new Error(response.error.message);
    return response.rows ?? [];
  }

  /** A drizzle database whose statements run on the embedded Postgres in the background thread. */
  embeddedDatabase(): Database {
    return proxyDatabase((sql, params, method) => this.query(sql, params, method));
  }

  async close(): Promise<void> {
    // A live thread first closes its Redis client and database; a dead one has nothing to close.
    if (!this.threadGone) {
      const closed = new Promise<void>((resolve) => this.worker.once('message', (message) => message === 'closed' && resolve()));
      this.worker.postMessage('close');
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }
    await this.worker.terminate();
  }
}

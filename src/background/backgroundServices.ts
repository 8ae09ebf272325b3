import { Worker } from 'node:worker_threads';
import { drizzle } from 'drizzle-orm/pg-proxy';
import type { Config } from '../config';
import type { Database } from '../db/client';
import * as schema from '../db/schema';
import { DomainError, type ErrorCode, UnavailableError } from '../domain/errors';
import type { ReconcileReport, ReconcileTrigger } from '../reconciler/report';
import type { ReconcileObserver, ReconcileRunner } from '../reconciler/runner';
import type { BackgroundInit, Request, Response } from './messages';

type Pending = { resolve: (response: Response) => void };
type Body = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

/**
 * Main-thread side of the background thread (see thread.ts): runs reconciler passes there and,
 * with the embedded Postgres, gives the main thread a drizzle database whose queries run there.
 */
export class BackgroundServices implements ReconcileRunner {
  observer?: ReconcileObserver;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(private readonly worker: Worker) {
    worker.on('message', (message: Response | string) => {
      if (typeof message === 'string') return;
      this.pending.get(message.id)?.resolve(message);
      this.pending.delete(message.id);
    });
  }

  static async start(config: Config, redisUrl: string): Promise<BackgroundServices> {
    const init: BackgroundInit = { config, redisUrl };
    const worker = new Worker(new URL('./threadEntry.mjs', import.meta.url), { workerData: init });
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
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
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

  /** A drizzle database whose statements run on the embedded Postgres in the background thread. */
  embeddedDatabase(): Database {
    return drizzle(
      async (sql, params, method) => {
        const response = await this.request({ kind: 'query', sql, params, method: method === 'all' ? 'all' : 'execute' });
        if (!response.ok) throw new UnavailableError('Postgres', new Error(response.error.message));
        return { rows: response.rows as never[] };
      },
      { schema },
    ) as unknown as Database;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.worker.once('message', (message) => message === 'closed' && resolve()));
    this.worker.postMessage('close');
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    await this.worker.terminate();
  }
}

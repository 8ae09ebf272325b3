import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { drizzle } from 'drizzle-orm/pg-proxy';
import type { Config } from '../config';
import type { Database } from '../db/client';
import * as schema from '../db/schema';
import { DomainError, UnavailableError } from '../domain/errors';
import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';
import type { MoveResult } from '../reconciler/bucketMoves';
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

/** Where a background thread's death and its replacement are told (the engine's or the primary's logger). */
export type ThreadLog = Pick<Logger, 'error' | 'warn'>;

/** How long to wait before starting a thread again after one died: a step longer per failed start, then the last. */
const RESTART_DELAYS_MS = [200, 1_000, 5_000, 30_000];

/**
 * The main thread's side of the background thread (thread.ts), over rpc.ts: runs reconciler
 * passes there and, with the embedded Postgres, gives this thread a drizzle database whose
 * statements run there.
 *
 * A thread that dies (an uncaught error in a library, such as the Postgres driver writing to a
 * socket it has just closed) is started again: without one the engine would keep serving holds
 * that no pass ever drains or lets expire. Until the new one answers, calls fail with 503.
 */
export class BackgroundThread implements ReconcileRunner {
  observer?: ReconcileObserver;
  private worker!: Worker;
  private rpc!: RpcClient;
  /** Set while no thread is alive: nothing is left to close. */
  private dead = false;
  /** Aborted on close: no restart after that, and a wait before one is cut short. */
  private readonly closed = new AbortController();
  private restarting?: Promise<void>;

  private constructor(
    private readonly init: BackgroundInit,
    private readonly log: ThreadLog,
    worker: Worker,
  ) {
    this.attach(worker);
  }

  static async start(config: Config, redisUrl: string, log: ThreadLog): Promise<BackgroundThread> {
    const init: BackgroundInit = { config, redisUrl };
    return new BackgroundThread(init, log, await startWorkerThread('thread', init));
  }

  private attach(worker: Worker): void {
    const rpc = new RpcClient('The background thread', (call) => worker.postMessage(call));
    this.worker = worker;
    this.rpc = rpc;
    this.dead = false;
    worker.on('message', (message: RpcAnswer | string) => {
      if (typeof message !== 'string') rpc.receive(message);
    });
    // A dead thread answers nothing more: its callers get a 503 instead of waiting forever.
    // 'error' comes before 'exit' and says why; only the first of them counts.
    let died = false;
    const threadDied = (cause: Error) => {
      if (died) return;
      died = true;
      this.dead = true;
      rpc.peerGone(cause);
      if (this.closed.signal.aborted) return;
      this.log.error({ err: cause }, 'the background thread died; starting a new one (reconciler passes answer 503 meanwhile)');
      this.restarting = this.restart();
    };
    worker.on('error', threadDied);
    worker.on('exit', (code) => threadDied(new Error(`the background thread exited with code ${code}`)));
  }

  /** Starts threads until one comes up (Postgres or Redis may be down for a while), or the engine closes. */
  private async restart(): Promise<void> {
    for (let attempt = 0; !this.closed.signal.aborted; attempt++) {
      await sleep(RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)], undefined, { signal: this.closed.signal }).catch(() => {});
      if (this.closed.signal.aborted) return;
      try {
        const worker = await startWorkerThread('thread', this.init);
        if (this.closed.signal.aborted) {
          await closeWorkerThread(worker, true, 10_000);
          return;
        }
        this.attach(worker);
        this.log.warn('a new background thread is running');
        return;
      } catch (error) {
        this.log.error({ err: error }, 'a new background thread failed to start; trying again');
      }
    }
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

  /** A move between buckets, run on the background thread; also what the primary runs for its workers. */
  moveUnits(source: string, target: string, qty: number, location: string): Promise<MoveResult> {
    return this.rpc.call<MoveResult>({ kind: 'moveUnits', source, target, qty, location });
  }

  /** Facts ahead of the drain, written on the background thread; also what the primary runs for its workers. */
  async recordFactsAhead(partition: number, entryId: string, epochRead: string | null): Promise<void> {
    await this.rpc.call({ kind: 'recordFacts', partition, entryId, epochRead });
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
    this.closed.abort();
    // A thread still starting (waiting for Redis, say) is let go by restart() once it is up.
    await Promise.race([this.restarting, sleep(10_000)]);
    await closeWorkerThread(this.worker, !this.dead, 10_000);
  }
}

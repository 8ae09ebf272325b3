import type { Database } from '../db/client';
import { DomainError, type ErrorCode, UnavailableError } from '../domain/errors';
import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';
import type { ReconcileObserver, ReconcileRunner } from '../reconciler/runner';
import { proxyDatabase } from './backgroundServices';
import type { PrimaryMessage, RelayAnswer, RelayCall, WorkerMessage } from './messages';

type Pending = { resolve: (answer: RelayAnswer) => void; reject: (error: Error) => void };
type Body = RelayCall extends infer C ? (C extends RelayCall ? Omit<C, 'id'> : never) : never;

/**
 * A worker process's side of the services the primary hosts (WORKERS > 1, src/workers/primary.ts):
 * reconciler passes, which run on the primary's background thread, and, with the embedded
 * Postgres, a drizzle database whose statements run there too (only one process may open
 * PGlite's files). Calls go over the cluster IPC channel; once the primary is gone every call
 * fails at once with a 503.
 *
 * Passes are counted in /metrics by the primary, which sees every pass of every worker: this
 * runner never calls its `observer`, so an aggregated scrape counts each pass once.
 */
export class PrimaryRelay implements ReconcileRunner {
  observer?: ReconcileObserver;
  /** This worker's metrics as JSON, for the primary's engine-wide /metrics. */
  localMetrics: () => Promise<unknown[]> = async () => [];
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private primaryGone?: UnavailableError;

  /** Which worker this is, 1..WORKERS (stable across restarts of this slot). */
  readonly worker: number;

  constructor(worker: number) {
    if (!process.send) throw new Error('PrimaryRelay runs only in a worker process started by the primary (WORKERS > 1)');
    this.worker = worker;
    process.on('message', this.onMessage);
    process.once('disconnect', this.onDisconnect);
  }

  private readonly onMessage = (message: PrimaryMessage) => {
    if (message?.type === 'answer') {
      this.pending.get(message.answer.id)?.resolve(message.answer);
      this.pending.delete(message.answer.id);
    } else if (message?.type === 'collect') {
      this.localMetrics().then(
        (metrics) => this.send({ type: 'metrics', id: message.id, metrics }),
        () => this.send({ type: 'metrics', id: message.id, metrics: [] }),
      );
    }
  };

  private readonly onDisconnect = () => {
    this.primaryGone = new UnavailableError('The primary process');
    const inFlight = new UnavailableError('The primary process', undefined, 'what it was running may or may not have finished');
    for (const call of this.pending.values()) call.reject(inFlight);
    this.pending.clear();
  };

  private send(message: WorkerMessage): void {
    if (process.connected) process.send!(message, undefined, undefined, () => {});
  }

  private call(body: Body): Promise<RelayAnswer> {
    if (this.primaryGone) return Promise.reject(this.primaryGone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: 'call', call: { ...body, id } as RelayCall });
    });
  }

  async run(trigger: ReconcileTrigger, options: { repair?: boolean } = {}): Promise<ReconcileReport> {
    const answer = await this.call({ kind: 'reconcile', trigger, repair: options.repair ?? false });
    if (answer.ok && 'report' in answer && answer.report) return answer.report;
    if (!answer.ok && answer.error.code) throw new DomainError(answer.error.code as ErrorCode, answer.error.message);
    throw new Error(answer.ok ? 'the primary answered a reconcile call without a report' : answer.error.message);
  }

  /** A drizzle database whose statements run on the embedded Postgres the primary hosts. */
  embeddedDatabase(): Database {
    return proxyDatabase(async (sql, params, method) => {
      const answer = await this.call({ kind: 'query', sql, params, method });
      if (!answer.ok) throw new Error(answer.error.message);
      return ('rows' in answer && answer.rows) || [];
    });
  }

  /** The Prometheus text of the whole engine: every worker's metrics and the primary's, aggregated there. */
  async clusterMetrics(): Promise<string> {
    const answer = await this.call({ kind: 'metrics' });
    if (answer.ok && 'text' in answer) return answer.text;
    throw new UnavailableError('The primary process', new Error(answer.ok ? 'no metrics' : answer.error.message));
  }

  close(): void {
    process.off('message', this.onMessage);
    process.off('disconnect', this.onDisconnect);
  }
}

import type { Database } from '../db/client';
import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';
import type { MoveResult } from '../reconciler/bucketMoves';
import type { ReconcileObserver, ReconcileRunner } from '../reconciler/runner';
import { proxyDatabase } from './backgroundThread';
import type { PrimaryMessage, WorkerMessage } from './messages';
import { type PassResult, RpcClient } from './rpc';

/**
 * A worker process's side of the services the primary hosts (WORKERS > 1, primary.ts), over
 * rpc.ts on the cluster IPC channel: reconciler passes, which run on the primary's background
 * thread, and, with the embedded Postgres, a drizzle database whose statements run there too
 * (only one process may open PGlite's files). Once the primary is gone every call fails at once
 * with a 503.
 *
 * Passes are counted in /metrics by the primary, which sees every pass of every worker: this
 * runner never calls its `observer`, so an aggregated scrape counts each pass once.
 */
export class PrimaryLink implements ReconcileRunner {
  observer?: ReconcileObserver;
  /** This worker's metrics as JSON, for the primary's engine-wide /metrics. */
  localMetrics: () => Promise<unknown[]> = async () => [];
  private readonly rpc = new RpcClient('The primary process', (call) => this.send({ type: 'call', call }));

  constructor(
    /** Which worker this is, 1..WORKERS (stable across restarts of this slot). */
    readonly worker: number,
  ) {
    if (!process.send) throw new Error('PrimaryLink runs only in a worker process started by the primary (WORKERS > 1)');
    process.on('message', this.onMessage);
    process.once('disconnect', this.onDisconnect);
  }

  private readonly onMessage = (message: PrimaryMessage) => {
    if (message?.type === 'answer') {
      this.rpc.receive(message.answer);
    } else if (message?.type === 'collect') {
      this.localMetrics().then(
        (metrics) => this.send({ type: 'metrics', id: message.id, metrics }),
        () => this.send({ type: 'metrics', id: message.id, metrics: [] }),
      );
    }
  };

  private readonly onDisconnect = () => this.rpc.peerGone();

  private send(message: WorkerMessage): void {
    if (process.connected) process.send!(message, undefined, undefined, () => {});
  }

  async run(trigger: ReconcileTrigger, options: { repair?: boolean } = {}): Promise<ReconcileReport> {
    return (await this.rpc.call<PassResult>({ kind: 'reconcile', trigger, repair: options.repair ?? false })).report;
  }

  moveUnits(source: string, target: string, qty: number, location: string): Promise<MoveResult> {
    return this.rpc.call<MoveResult>({ kind: 'moveUnits', source, target, qty, location });
  }

  async recordFactsAhead(partition: number, entryId: string, epochRead: string | null): Promise<void> {
    await this.rpc.call({ kind: 'recordFacts', partition, entryId, epochRead });
  }

  /** A drizzle database whose statements run on the embedded Postgres the primary hosts. */
  embeddedDatabase(): Database {
    return proxyDatabase((sql, params, method) => this.rpc.call<unknown[]>({ kind: 'query', sql, params, method }));
  }

  /** The Prometheus text of the whole engine: every worker's metrics and the primary's, aggregated there. */
  clusterMetrics(): Promise<string> {
    return this.rpc.call<string>({ kind: 'metrics' });
  }

  close(): void {
    process.off('message', this.onMessage);
    process.off('disconnect', this.onDisconnect);
  }
}

import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';
import type { MoveResult } from './bucketMoves';

/**
 * Runs reconciler passes, moves of units between buckets, and writes of facts ahead of the drain
 * (they write Postgres in a transaction, which only the passes' side can: with the embedded
 * Postgres, other threads and processes send it single statements): in this thread (Reconciler),
 * in the background thread (BackgroundThread) or in the primary (PrimaryLink).
 */
export interface ReconcileRunner {
  run(trigger: ReconcileTrigger, options?: { repair?: boolean }): Promise<ReconcileReport>;
  /** Moves `qty` units from one bucket of a SKU to another (src/reconciler/bucketMoves.ts). */
  moveUnits(source: string, target: string, qty: number, location: string): Promise<MoveResult>;
  /** Writes an outbox entry, and its partition's before it, ahead of the drain, fenced (src/reconciler/factsAhead.ts); rejects when the epoch moved on. */
  recordFactsAhead(partition: number, entryId: string, epochRead: string | null): Promise<void>;
  /** Told about every pass run through this runner. */
  observer?: ReconcileObserver;
}

/** Told about every pass (metrics). */
export interface ReconcileObserver {
  refused(trigger: ReconcileTrigger): void;
  /** `expiriesDrained`: expired hold lines the pass wrote to Postgres (lazy sweeps included). */
  finished(report: ReconcileReport, expiriesDrained: number): void;
}

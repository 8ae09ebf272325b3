import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';

/** Runs reconciler passes: in this thread (Reconciler) or in the background thread (BackgroundThread). */
export interface ReconcileRunner {
  run(trigger: ReconcileTrigger, options?: { repair?: boolean }): Promise<ReconcileReport>;
  /** Told about every pass run through this runner. */
  observer?: ReconcileObserver;
}

/** Told about every pass (metrics). */
export interface ReconcileObserver {
  refused(trigger: ReconcileTrigger): void;
  /** `expiriesDrained`: expired hold lines the pass wrote to Postgres (lazy sweeps included). */
  finished(report: ReconcileReport, expiriesDrained: number): void;
}

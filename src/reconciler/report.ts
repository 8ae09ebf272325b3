import type { DriftItem } from './driftCheck';

export type ReconcileTrigger = 'cron' | 'api' | 'cli' | 'startup';

/** What one reconciler pass did: answered by the API, printed by the CLI, stored in reconcile_runs. */
export interface ReconcileReport {
  id: string;
  trigger: ReconcileTrigger;
  startedAt: string;
  finishedAt: string;
  /** Expired holds whose units this pass returned. */
  expiredReleased: number;
  /** Outbox events written to Postgres. */
  eventsWritten: number;
  drift: DriftItem[];
  repaired: boolean;
  /** Set when the pass stopped early (e.g. Postgres unreachable); what it did before still counts. */
  error?: string;
}

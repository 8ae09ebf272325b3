/** What a reconciler pass reports: shared by the reconciler, Postgres, the API and the CLI. */

export const RECONCILE_TRIGGERS = ['cron', 'api', 'cli', 'startup'] as const;
export type ReconcileTrigger = (typeof RECONCILE_TRIGGERS)[number];

/** The counters of a SKU, compared between Redis, Postgres's row and the facts. */
export const COUNTER_FIELDS = ['total', 'available', 'reserved', 'sold'] as const;
export type CounterField = (typeof COUNTER_FIELDS)[number];

/** A SKU's waiting-line counts, compared between Redis and the tickets Postgres recorded. */
export const LINE_COUNTER_FIELDS = ['lineWaiting', 'lineAdmitted'] as const;
export type LineCounterField = (typeof LINE_COUNTER_FIELDS)[number];

/** Every field a drift item may name. */
export const DRIFT_FIELDS = [...COUNTER_FIELDS, ...LINE_COUNTER_FIELDS] as const;
export type DriftField = (typeof DRIFT_FIELDS)[number];

/** One counter on which Redis, Postgres's row and the facts do not all agree. */
export interface DriftItem {
  sku: string;
  /** Set when the counter is one location's, on a SKU with locations. */
  location?: string;
  field: DriftField;
  /** Redis's counter; null when Redis has no such SKU. */
  redis: number | null;
  /** The counter in Postgres's `skus` row; for a line count, the tickets of `line_tickets` in that state. */
  postgres: number;
  /**
   * What the facts say: total from SET/ADJUST movements, sold from committed reservations, reserved
   * from pending ones, line counts from `line_tickets`.
   */
  expected: number;
}

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

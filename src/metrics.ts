import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorCode } from './domain/errors';
import type { SkuView } from './domain/sku';
import type { ReconcileReport, ReconcileTrigger } from './domain/reconcile';
import type { ReserveAnswer } from './services/reservations';
import type { ReconcileObserver } from './reconciler/runner';

export type ReserveOutcomeLabel = 'created' | 'partial' | 'replayed' | 'insufficient_stock' | 'limit_exceeded' | 'sale_not_active' | 'sku_not_found' | 'idempotency_conflict' | 'invalid' | 'unavailable' | 'error';

/** The label of a reserve that held (or replayed) a reservation. */
export function reserveOutcome({ reservation, replayed }: ReserveAnswer): ReserveOutcomeLabel {
  return replayed ? 'replayed' : reservation.items.some((item) => item.backordered > 0) ? 'partial' : 'created';
}

/** The label of a refused reserve, by its error code (anything else is 'error'). */
const LABEL_OF_ERROR: Partial<Record<ErrorCode, ReserveOutcomeLabel>> = {
  INSUFFICIENT_STOCK: 'insufficient_stock',
  PURCHASE_LIMIT_EXCEEDED: 'limit_exceeded',
  SALE_NOT_ACTIVE: 'sale_not_active',
  SKU_NOT_FOUND: 'sku_not_found',
  LOCATION_NOT_FOUND: 'sku_not_found',
  IDEMPOTENCY_KEY_REUSED: 'idempotency_conflict',
  VALIDATION_FAILED: 'invalid',
  INVALID_JSON: 'invalid',
  UNSUPPORTED_MEDIA_TYPE: 'invalid',
  PAYLOAD_TOO_LARGE: 'invalid',
  UNAUTHORIZED: 'invalid',
  UNAVAILABLE: 'unavailable',
};

/** The Prometheus series of docs/operations.md#metrics, on a registry of the engine's own (one per app in tests). */
export class EngineMetrics implements ReconcileObserver {
  readonly registry = new Registry();

  readonly reservations = new Counter({
    name: 'flashsale_reservations_total',
    help: 'Reserve requests by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly finishes = new Counter({
    name: 'flashsale_reservation_finishes_total',
    help: 'Reservations ended, by how: commit, release or expire',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly reservesUndone = new Counter({
    name: 'flashsale_reserves_undone_total',
    help: 'Reserves answered 503 whose script may have run, by what became of them: released, not_applied, committed or replayed (kept: a client was told of it), left_to_expire (the engine stopped first)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly reserveLatency = new Histogram({
    name: 'flashsale_reserve_duration_seconds',
    help: 'Time to answer a reserve request (Redis round trip included)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly reconcileRuns = new Counter({
    name: 'flashsale_reconcile_runs_total',
    help: 'Reconciler passes by trigger and result',
    labelNames: ['trigger', 'result'] as const,
    registers: [this.registry],
  });

  readonly driftFields = new Gauge({
    name: 'flashsale_drift_fields',
    help: 'SKU counters that differed between Redis and Postgres in the last reconciler pass',
    registers: [this.registry],
  });

  /**
   * The open /v1/events streams of this process and the SKUs they watch (each polled ten times a
   * second), read at scrape time; the events route sets it.
   */
  eventStreamCounts: () => { streams: number; watchedSkus: number } = () => ({ streams: 0, watchedSkus: 0 });

  readonly eventStreams = this.eventStreamGauge('flashsale_event_streams', 'Open GET /v1/events streams', 'streams');

  readonly eventWatchedSkus = this.eventStreamGauge('flashsale_event_watched_skus', 'SKUs the open event streams watch, each polled in Redis ten times a second', 'watchedSkus');

  private readonly stockGauge: Gauge<'sku' | 'state'>;

  /**
   * The text /metrics answers: this registry's. A worker of WORKERS > 1 answers the whole
   * engine's instead, every worker's and the primary's aggregated (src/workers/worker.ts).
   */
  exposition: () => Promise<string> = () => this.registry.metrics();

  /**
   * One reserve answered: `outcome` is 'created', 'partial' or 'replayed' for a 201, else the
   * error code it was refused with.
   */
  reserveAnswered(statusCode: number, outcome: string, elapsedMs: number): void {
    const label = statusCode < 300 ? (outcome as ReserveOutcomeLabel) : (LABEL_OF_ERROR[outcome as ErrorCode] ?? 'error');
    this.reservations.inc({ outcome: label });
    this.reserveLatency.observe(elapsedMs / 1000);
  }

  refused(trigger: ReconcileTrigger): void {
    this.reconcileRuns.inc({ trigger, result: 'refused' });
  }

  finished(report: ReconcileReport, expiriesDrained: number): void {
    this.reconcileRuns.inc({ trigger: report.trigger, result: report.error ? 'failed' : 'ok' });
    if (!report.error) this.driftFields.set(report.drift.length);
    this.finishes.inc({ type: 'expire' }, expiriesDrained);
  }

  private eventStreamGauge(name: string, help: string, count: 'streams' | 'watchedSkus'): Gauge {
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [this.registry],
      // Each worker holds streams of its own: the engine's are the sum.
      aggregator: 'sum',
      collect: () => gauge.set(this.eventStreamCounts()[count]),
    });
    return gauge;
  }

  constructor(listSkus: () => Promise<SkuView[]>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'flashsale_process_' });
    this.stockGauge = new Gauge({
      name: 'flashsale_sku_units',
      help: 'Units of a SKU by state (available, reserved, sold), read from Redis at scrape time',
      labelNames: ['sku', 'state'] as const,
      registers: [this.registry],
      // Every worker reads the same Redis: aggregated over workers, one reading stands for all.
      aggregator: 'first',
      collect: async () => {
        this.stockGauge.reset();
        for (const view of await listSkus().catch(() => [])) {
          this.stockGauge.set({ sku: view.sku, state: 'available' }, view.available);
          this.stockGauge.set({ sku: view.sku, state: 'reserved' }, view.reserved);
          this.stockGauge.set({ sku: view.sku, state: 'sold' }, view.sold);
        }
      },
    });
  }
}

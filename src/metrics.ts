import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorCode } from './domain/errors';
import type { Ticket } from './domain/line';
import type { SkuView } from './domain/sku';
import type { ReconcileReport, ReconcileTrigger } from './domain/reconcile';
import type { ReserveAnswer } from './services/reservations';
import type { ReconcileObserver } from './reconciler/runner';

export type ReserveOutcomeLabel = 'created' | 'partial' | 'replayed' | 'insufficient_stock' | 'limit_exceeded' | 'sale_not_active' | 'sku_not_found' | 'idempotency_conflict' | 'invalid' | 'unavailable' | 'error';

/** The label of a reserve that held (or replayed) a reservation. */
export function reserveOutcome({ reservation, replayed }: ReserveAnswer): ReserveOutcomeLabel {
  return replayed ? 'replayed' : reservation.items.some((item) => item.backordered > 0) ? 'partial' : 'created';
}

/** Refusals any request may meet, reserve or join: what it sent, and Redis being out of reach. */
const REQUEST_REFUSAL_LABELS = {
  PURCHASE_LIMIT_EXCEEDED: 'limit_exceeded',
  SALE_NOT_ACTIVE: 'sale_not_active',
  SKU_NOT_FOUND: 'sku_not_found',
  VALIDATION_FAILED: 'invalid',
  INVALID_JSON: 'invalid',
  UNSUPPORTED_MEDIA_TYPE: 'invalid',
  PAYLOAD_TOO_LARGE: 'invalid',
  UNAUTHORIZED: 'invalid',
  UNAVAILABLE: 'unavailable',
} as const satisfies Partial<Record<ErrorCode, string>>;

/** The label of a refused reserve, by its error code (anything else is 'error'). */
const LABEL_OF_ERROR: Partial<Record<ErrorCode, ReserveOutcomeLabel>> = {
  ...REQUEST_REFUSAL_LABELS,
  INSUFFICIENT_STOCK: 'insufficient_stock',
  LOCATION_NOT_FOUND: 'sku_not_found',
  IDEMPOTENCY_KEY_REUSED: 'idempotency_conflict',
};

export type LineJoinOutcomeLabel = 'joined' | 'existing' | 'sold_out' | 'limit_exceeded' | 'sale_not_active' | 'line_not_found' | 'sku_not_found' | 'invalid' | 'unavailable' | 'error';

/** The label of a refused join, by its error code (anything else is 'error'). */
const JOIN_LABEL_OF_ERROR: Partial<Record<ErrorCode, LineJoinOutcomeLabel>> = {
  ...REQUEST_REFUSAL_LABELS,
  SOLD_OUT: 'sold_out',
  LINE_NOT_FOUND: 'line_not_found',
};

/** Admitted tickets remembered as already timed, per process: enough for a sale's worth, bounded. */
const TIMED_TICKETS_KEPT = 100_000;

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

  /** How many reserves the sold-out watch refused since the start, read at each scrape (answeringSoldOutFrom). */
  private soldOutAnswered = () => 0;
  private soldOutCounted = 0;

  readonly soldOutAnswers = new Counter({
    name: 'flashsale_sold_out_answers_total',
    help: 'Reserves refused INSUFFICIENT_STOCK (joins refused SOLD_OUT) from what this process knew of a sold-out SKU, without a Redis round trip (also counted in flashsale_reservations_total, flashsale_line_joins_total)',
    registers: [this.registry],
    // Read at the scrape: the refusal path, the bulk of a sale's requests, does no metrics work for it.
    collect: () => {
      const answered = this.soldOutAnswered();
      this.soldOutAnswers.inc(answered - this.soldOutCounted);
      this.soldOutCounted = answered;
    },
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
  eventStreamCounts: () => { streams: number; watchedSkus: number; watchedTickets: number } = () => ({ streams: 0, watchedSkus: 0, watchedTickets: 0 });

  readonly eventStreams = this.eventStreamGauge('flashsale_event_streams', 'Open GET /v1/events streams', 'streams');

  readonly eventWatchedSkus = this.eventStreamGauge('flashsale_event_watched_skus', 'SKUs the open event streams watch, each polled in Redis ten times a second', 'watchedSkus');

  readonly eventWatchedTickets = this.eventStreamGauge(
    'flashsale_event_watched_tickets',
    'Waiting tickets the open event streams watch, each read again when its line moves, at most once a second',
    'watchedTickets',
  );

  readonly lineJoins = new Counter({
    name: 'flashsale_line_joins_total',
    help: 'Joins of a waiting line by outcome: joined (a new ticket), existing (the user\'s ticket again), or the refusal',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly lineAdmissionWait = new Histogram({
    name: 'flashsale_line_admission_wait_seconds',
    help: 'Time from joining a line to admission, observed when a join, a read or a ticket stream first answers a ticket ADMITTED in this process',
    buckets: [0.1, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });

  /** The reserve counter's series per outcome: looked up once, not hashed from its labels on every answer. */
  private readonly reservationsByOutcome = new Map<string, ReturnType<Counter<'outcome'>['labels']>>();

  /** Tickets whose admission wait was observed here, oldest first (a Map keeps insertion order). */
  private readonly timedTickets = new Map<string, true>();

  private readonly stockGauge: Gauge<'sku' | 'state'>;

  private readonly lineWaiting: Gauge<'sku'>;

  private readonly lineAdmitted: Counter<'sku'>;

  /** The SKU views of the scrape under way: both per-SKU gauges read them once. */
  private scrapedViews?: Promise<SkuView[]>;

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
    let counter = this.reservationsByOutcome.get(label);
    if (!counter) this.reservationsByOutcome.set(label, (counter = this.reservations.labels(label)));
    counter.inc();
    this.reserveLatency.observe(elapsedMs / 1000);
  }

  /** Where flashsale_sold_out_answers_total reads its count (the engine's SoldOutWatch.refusedHere). */
  answeringSoldOutFrom(count: () => number): void {
    this.soldOutAnswered = count;
    this.soldOutCounted = count();
  }

  /** One join answered: 202 joined, 200 the user's ticket again, else the error code it was refused with. */
  lineJoinAnswered(statusCode: number, errorCode: string): void {
    const label = statusCode === 202 ? 'joined' : statusCode < 300 ? 'existing' : (JOIN_LABEL_OF_ERROR[errorCode as ErrorCode] ?? 'error');
    this.lineJoins.inc({ outcome: label });
  }

  /**
   * A ticket answered to a client: the first time this process sees it ADMITTED, its wait from
   * joining to admission (its hold was made at admission) is observed. Another process that
   * answers the same ticket observes it too (WORKERS > 1, or several engines).
   */
  ticketAnswered(ticket: Ticket): void {
    if (ticket.status !== 'ADMITTED' || !ticket.reservation || this.timedTickets.has(ticket.id)) return;
    this.timedTickets.set(ticket.id, true);
    if (this.timedTickets.size > TIMED_TICKETS_KEPT) this.timedTickets.delete(this.timedTickets.keys().next().value!);
    const waitMs = Date.parse(ticket.reservation.createdAt) - Date.parse(ticket.joinedAt);
    this.lineAdmissionWait.observe(Math.max(0, waitMs) / 1000);
  }

  refused(trigger: ReconcileTrigger): void {
    this.reconcileRuns.inc({ trigger, result: 'refused' });
  }

  finished(report: ReconcileReport, expiriesDrained: number): void {
    this.reconcileRuns.inc({ trigger: report.trigger, result: report.error ? 'failed' : 'ok' });
    if (!report.error) this.driftFields.set(report.drift.length);
    this.finishes.inc({ type: 'expire' }, expiriesDrained);
  }

  private eventStreamGauge(name: string, help: string, count: 'streams' | 'watchedSkus' | 'watchedTickets'): Gauge {
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
    // A scrape collects every series at once: the per-SKU gauges share one reading of the SKUs.
    const views = () =>
      (this.scrapedViews ??= listSkus()
        .catch(() => [])
        .finally(() => (this.scrapedViews = undefined)));
    this.stockGauge = new Gauge({
      name: 'flashsale_sku_units',
      help: 'Units of a SKU by state (available, reserved, sold), read from Redis at scrape time',
      labelNames: ['sku', 'state'] as const,
      registers: [this.registry],
      // Every worker reads the same Redis: aggregated over workers, one reading stands for all.
      aggregator: 'first',
      collect: async () => {
        this.stockGauge.reset();
        for (const view of await views()) {
          this.stockGauge.set({ sku: view.sku, state: 'available' }, view.available);
          this.stockGauge.set({ sku: view.sku, state: 'reserved' }, view.reserved);
          this.stockGauge.set({ sku: view.sku, state: 'sold' }, view.sold);
        }
      },
    });
    this.lineWaiting = new Gauge({
      name: 'flashsale_line_waiting',
      help: 'Tickets waiting in a SKU\'s line, read from Redis at scrape time',
      labelNames: ['sku'] as const,
      registers: [this.registry],
      aggregator: 'first',
      collect: async () => {
        this.lineWaiting.reset();
        for (const { sku, line } of await views()) if (line) this.lineWaiting.set({ sku }, line.waiting);
      },
    });
    this.lineAdmitted = new Counter({
      name: 'flashsale_line_admitted_total',
      help: 'Tickets a SKU\'s line admitted since it was set, read from Redis at scrape time (rate() reads admissions per second)',
      labelNames: ['sku'] as const,
      registers: [this.registry],
      aggregator: 'first',
      collect: async () => {
        this.lineAdmitted.reset();
        for (const { sku, line } of await views()) if (line) this.lineAdmitted.inc({ sku }, line.admitted);
      },
    });
  }
}

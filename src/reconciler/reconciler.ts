import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client';
import { saveRun } from '../db/reconcileRunRepository';
import { DomainError } from '../domain/errors';
import type { EngineMetrics } from '../metrics';
import type { StockEngine } from '../redis/stockEngine';
import { checkDrift } from './driftCheck';
import { drainOutbox } from './outboxDrain';
import { sweepExpiredHolds } from './expirySweep';
import type { ReconcileReport, ReconcileTrigger } from './report';

/** Longer than any pass: the drain stops itself well before (DRAIN_BUDGET_MS). */
const LEASE_MS = 120_000;
const DRAIN_BUDGET_MS = 30_000;

/**
 * One reconciler pass: (1) return the units of every expired hold, (2) drain the outbox into
 * Postgres, (3) compare counters and report drift, repairing when asked. Only one pass runs at a
 * time across every instance sharing the Redis (a lease); each finished pass is stored.
 */
export class Reconciler {
  constructor(
    private readonly engine: StockEngine,
    private readonly db: Database,
    private readonly metrics?: EngineMetrics,
  ) {}

  async run(trigger: ReconcileTrigger, options: { repair?: boolean } = {}): Promise<ReconcileReport> {
    const token = randomUUID();
    if (!(await this.engine.acquireLease(token, LEASE_MS))) {
      this.metrics?.reconcileRuns.inc({ trigger, result: 'refused' });
      throw new DomainError('RECONCILE_IN_PROGRESS', 'A reconciler pass is already running; try again when it has finished.');
    }
    const repair = options.repair ?? false;
    const report: ReconcileReport = {
      id: randomUUID(),
      trigger,
      startedAt: new Date().toISOString(),
      finishedAt: '',
      expiredReleased: 0,
      eventsWritten: 0,
      drift: [],
      repaired: false,
    };
    try {
      report.expiredReleased = (await sweepExpiredHolds(this.engine)).holds;
      report.eventsWritten = await drainOutbox(this.engine, this.db, {
        timeBudgetMs: DRAIN_BUDGET_MS,
        onBatch: (entries) => this.countExpiries(entries),
      });
      const drift = await checkDrift(this.engine, this.db, { repair });
      report.drift = drift.drift;
      report.repaired = repair && drift.drift.length > 0 && drift.unrepairable.length === 0;
      this.metrics?.driftFields.set(drift.drift.length);
    } catch (error) {
      report.error = error instanceof Error ? error.message : String(error);
    } finally {
      report.finishedAt = new Date().toISOString();
      await this.engine.releaseLease(token).catch(() => {});
    }
    this.metrics?.reconcileRuns.inc({ trigger, result: report.error ? 'failed' : 'ok' });
    try {
      await saveRun(this.db, report);
    } catch (error) {
      report.error ??= `run not stored: ${(error as Error).message}`;
    }
    return report;
  }

  private countExpiries(entries: { event: { type: string; lines?: unknown[] } }[]): void {
    for (const { event } of entries) {
      if (event.type === 'EXPIRE') this.metrics?.finishes.inc({ type: 'expire' }, event.lines?.length ?? 0);
    }
  }
}

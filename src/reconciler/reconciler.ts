import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client';
import { deleteBindingsBefore } from '../db/factsRepository';
import { saveRun } from '../db/reconcileRunRepository';
import { DomainError } from '../domain/errors';
import type { StockEngine } from '../redis/stockEngine';
import { checkDrift } from './driftCheck';
import { drainOutbox } from './outboxDrain';
import { sweepExpiredHolds } from './expirySweep';
import type { ReconcileReport, ReconcileTrigger } from './report';
import type { ReconcileObserver, ReconcileRunner } from './runner';

/** The lease is renewed every third of this while a pass runs, so it outlives any pass. */
const LEASE_MS = 60_000;
const DRAIN_BUDGET_MS = 30_000;

/**
 * One reconciler pass: (1) return the units of every expired hold, (2) drain the outbox into
 * Postgres, (3) compare counters and report drift, repairing when asked. Only one pass runs at a
 * time across every instance sharing the Redis (a lease); each finished pass is stored.
 */
export class Reconciler implements ReconcileRunner {
  constructor(
    private readonly engine: StockEngine,
    private readonly db: Database,
    public observer?: ReconcileObserver,
  ) {}

  async run(trigger: ReconcileTrigger, options: { repair?: boolean } = {}): Promise<ReconcileReport> {
    const token = randomUUID();
    if (!(await this.engine.acquireLease(token, LEASE_MS))) {
      this.observer?.refused(trigger);
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
    let expiriesDrained = 0;
    let leaseLost = false;
    let deadLetterWarning: string | undefined;
    const renewal = setInterval(() => {
      this.engine.renewLease(token, LEASE_MS).then(
        (renewed) => (leaseLost ||= !renewed),
        () => {},
      );
    }, LEASE_MS / 3);
    try {
      report.expiredReleased = (await sweepExpiredHolds(this.engine)).holds;
      const drained = await drainOutbox(this.engine, this.db, {
        timeBudgetMs: DRAIN_BUDGET_MS,
        onBatch: (entries) => {
          for (const event of entries.flatMap((entry) => entry.events)) if (event.type === 'EXPIRE') expiriesDrained += event.lines.length;
        },
      });
      report.eventsWritten = drained.written;
      // Redis has dropped these bindings by now; a rebuild must not bring them back.
      await deleteBindingsBefore(this.db, Date.now() - this.engine.tuning.idempotencyTtlSeconds * 1000);
      if (drained.deadLettered) {
        deadLetterWarning = `${drained.deadLettered} outbox entries were refused by Postgres and moved to ${this.engine.keys.deadLetters()}`;
      }
      const drift = await checkDrift(this.engine, this.db, { repair });
      report.drift = drift.drift;
      report.repaired = repair && drift.drift.length > 0 && drift.notRepaired.length === 0;
      if (leaseLost) throw new Error('the reconciler lease was lost during the pass (another pass may have overlapped it)');
      if (deadLetterWarning) throw new Error(deadLetterWarning);
    } catch (error) {
      report.error = error instanceof Error ? error.message : String(error);
    } finally {
      clearInterval(renewal);
      report.finishedAt = new Date().toISOString();
      await this.engine.releaseLease(token).catch(() => {});
    }
    try {
      await saveRun(this.db, report);
    } catch (error) {
      report.error ??= `run not stored: ${(error as Error).message}`;
    }
    this.observer?.finished(report, expiriesDrained);
    return report;
  }
}

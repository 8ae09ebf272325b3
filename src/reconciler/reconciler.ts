import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client';
import { deleteBindingsBefore } from '../db/factsRepository';
import { saveRun } from '../db/reconcileRunRepository';
import { reconcileInProgress } from '../domain/refusals';
import type { Lease } from '../redis/lease';
import type { StockMaintenance } from '../redis/stockMaintenance';
import { BucketMoves, type MoveResult } from './bucketMoves';
import { FactsAhead } from './factsAhead';
import { checkDrift } from './driftCheck';
import { drainOutbox } from './outboxDrain';
import { sweepExpiredHolds } from './expirySweep';
import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';
import type { ReconcileObserver, ReconcileRunner } from './runner';

const DRAIN_BUDGET_MS = 30_000;
/**
 * How long a pass asked for through the API or the command line waits for a pass running
 * elsewhere before answering RECONCILE_IN_PROGRESS (a cron tick does not wait: the next one comes).
 */
const ON_DEMAND_LEASE_WAIT_MS = 5_000;

/**
 * One reconciler pass: (1) return the units of every expired hold, (2) drain the outbox into
 * Postgres, (3) finish moves between buckets left half-done, (4) compare counters and report
 * drift, repairing when asked. Only one pass runs at a
 * time across every instance sharing the Redis (a lease); each finished pass is stored.
 */
export class Reconciler implements ReconcileRunner {
  /** Moves units between buckets: they write Postgres in a transaction, so they run where passes run. */
  readonly bucketMoves: BucketMoves;
  /** Changes written to Postgres ahead of the drain (a PUT's, a move out), as prefixes of their outbox. */
  private readonly factsAhead: FactsAhead;

  constructor(
    private readonly maintenance: StockMaintenance,
    private readonly lease: Lease,
    private readonly db: Database,
    public observer?: ReconcileObserver,
  ) {
    this.factsAhead = new FactsAhead(db, maintenance.outbox);
    this.bucketMoves = new BucketMoves(maintenance, db, this.factsAhead);
  }

  moveUnits(source: string, target: string, qty: number, location: string): Promise<MoveResult> {
    return this.bucketMoves.move(source, target, qty, location);
  }

  recordFactsAhead(partition: number, entryId: string, epochRead: string | null): Promise<void> {
    return this.factsAhead.record(partition, entryId, epochRead);
  }

  async run(trigger: ReconcileTrigger, options: { repair?: boolean } = {}): Promise<ReconcileReport> {
    const lease = await this.lease.acquire(trigger === 'cron' ? 0 : ON_DEMAND_LEASE_WAIT_MS);
    if (!lease) {
      this.observer?.refused(trigger);
      throw reconcileInProgress();
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
    let deadLetterWarning: string | undefined;
    try {
      report.expiredReleased = (await sweepExpiredHolds(this.maintenance)).holds;
      await this.maintenance.settleSpanning();
      const drained = await drainOutbox(this.maintenance.outbox, this.db, {
        timeBudgetMs: DRAIN_BUDGET_MS,
        leaseHeld: () => lease.held(),
        onBatch: (entries) => {
          for (const event of entries.flatMap((entry) => entry.events)) if (event.type === 'EXPIRE') expiriesDrained += event.lines.length;
        },
      });
      report.eventsWritten = drained.written;
      // Redis has dropped these bindings by now; a rebuild must not bring them back.
      await deleteBindingsBefore(this.db, Date.now() - this.maintenance.idempotencyTtlMs);
      // From what Postgres now knows: a drain stopped by a new epoch left it behind.
      if (!drained.epochChanged.length) await this.bucketMoves.finishLeftMoves();
      if (drained.deadLettered) {
        deadLetterWarning = `${drained.deadLettered} outbox entries were refused by Postgres and moved to ${this.maintenance.outbox.deadLettersKey}`;
      }
      const drift = await checkDrift(this.maintenance, this.db, { repair });
      report.drift = drift.drift;
      report.repaired = repair && drift.drift.length > 0 && drift.notRepaired.length === 0;
      if (lease.lost) throw new Error('the reconciler lease was lost during the pass (another pass may have overlapped it)');
      // Not a pass that drained what the outbox held when it began: say so (drainFence.ts).
      if (drained.epochChanged.length) {
        throw new Error(`the drain of partitions ${drained.epochChanged.join(', ')} stopped: they began a new shard epoch while it read them (a rebuild, a failover, a restart); the next pass drains them`);
      }
      if (deadLetterWarning) throw new Error(deadLetterWarning);
    } catch (error) {
      report.error = error instanceof Error ? error.message : String(error);
    } finally {
      report.finishedAt = new Date().toISOString();
      await lease.release();
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

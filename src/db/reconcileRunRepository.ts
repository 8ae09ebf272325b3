import { desc } from 'drizzle-orm';
import type { ReconcileReport } from '../domain/reconcile';
import type { Database } from './client';
import { reconcileRuns } from './schema';

export async function saveRun(db: Database, report: ReconcileReport): Promise<void> {
  await db.insert(reconcileRuns).values({
    id: report.id,
    trigger: report.trigger,
    startedAt: new Date(report.startedAt),
    finishedAt: new Date(report.finishedAt),
    expiredReleased: report.expiredReleased,
    eventsWritten: report.eventsWritten,
    drift: report.drift,
    repaired: report.repaired,
    error: report.error ?? null,
  });
}

/** The latest runs, newest first. */
export async function listRuns(db: Database, limit: number): Promise<ReconcileReport[]> {
  const rows = await db.select().from(reconcileRuns).orderBy(desc(reconcileRuns.startedAt)).limit(limit);
  return rows.map((row) => ({
    id: row.id,
    trigger: row.trigger,
    startedAt: row.startedAt.toISOString(),
    finishedAt: (row.finishedAt ?? row.startedAt).toISOString(),
    expiredReleased: row.expiredReleased,
    eventsWritten: row.eventsWritten,
    drift: row.drift as ReconcileReport['drift'],
    repaired: row.repaired,
    ...(row.error ? { error: row.error } : {}),
  }));
}

import cron, { type ScheduledTask } from 'node-cron';
import type { FastifyBaseLogger } from 'fastify';
import { DomainError } from '../domain/errors';
import type { ReconcileRunner } from './runner';

/** Runs a pass on RECONCILE_CRON; a pass already running (here or on another instance) is skipped. */
export function scheduleReconciler(reconciler: ReconcileRunner, expression: string, log: FastifyBaseLogger): ScheduledTask {
  if (!cron.validate(expression)) throw new Error(`RECONCILE_CRON is not a valid cron expression: "${expression}"`);
  return cron.schedule(
    expression,
    async () => {
      try {
        const report = await reconciler.run('cron');
        if (report.error) log.warn({ report }, 'reconciler pass stopped early');
        else if (report.drift.length) log.warn({ drift: report.drift }, 'reconciler found drift; run with repair to fix it');
      } catch (error) {
        if (!(error instanceof DomainError && error.code === 'RECONCILE_IN_PROGRESS')) log.error({ err: error }, 'reconciler pass failed');
      }
    },
    { name: 'reconciler', noOverlap: true },
  );
}

import cron, { type ScheduledTask } from 'node-cron';
import type { FastifyBaseLogger } from 'fastify';
import { DomainError } from '../domain/errors';
import type { ReconcileRunner } from './runner';

/** What node-cron warns on each tick its `noOverlap` skips (reported by the `execution:overlap` event instead). */
const OVERLAP_WARNING = 'blocked by overlap prevention';

/**
 * Runs a pass on RECONCILE_CRON. A tick that comes while this instance's previous pass is still
 * running (a drain catching up after a burst) is skipped quietly by node-cron (`noOverlap`); a pass
 * running on another instance makes the tick a no-op too (its lease answers RECONCILE_IN_PROGRESS).
 */
export function scheduleReconciler(reconciler: Pick<ReconcileRunner, 'run'>, expression: string, log: FastifyBaseLogger): ScheduledTask {
  if (!cron.validate(expression)) throw new Error(`RECONCILE_CRON is not a valid cron expression: "${expression}"`);
  // node-cron's own messages (a missed tick, a failing task) go to the engine's log, not stdout.
  // Its warning per skipped tick is dropped: a pass outlasting the period is expected, not a fault.
  cron.setLogger({
    info: (message) => log.debug(`node-cron: ${message}`),
    debug: (message) => log.debug(`node-cron: ${message}`),
    warn: (message) => {
      if (!message.includes(OVERLAP_WARNING)) log.warn(`node-cron: ${message}`);
    },
    error: (message, err) => log.error({ err }, `node-cron: ${message}`),
  });
  const task = cron.schedule(
    expression,
    async () => {
      try {
        const report = await reconciler.run('cron');
        if (report.error) log.warn({ report }, 'reconciler pass stopped early');
        else if (report.drift.length) log.warn({ drift: report.drift }, 'reconciler found drift; run with repair to fix it');
      } catch (error) {
        if (!(error instanceof DomainError)) log.error({ err: error }, 'reconciler pass failed');
        // An outage is told by one line per tick, not a stack: the request log sums it up.
        else if (error.code !== 'RECONCILE_IN_PROGRESS') log.warn(`reconciler pass failed: ${error.message}`);
      }
    },
    { name: 'reconciler', noOverlap: true },
  );
  task.on('execution:overlap', () => log.debug('reconciler: previous pass still running, tick skipped'));
  return task;
}

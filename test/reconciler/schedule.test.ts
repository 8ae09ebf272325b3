import { describe, expect, it, vi } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import { scheduleReconciler } from '../../src/reconciler/schedule';
import type { ReconcileReport } from '../../src/domain/reconcile';
import type { ReconcileRunner } from '../../src/reconciler/runner';

describe('reconciler schedule', () => {
  it('skips a tick while the previous pass still runs, quietly and without overlap', async () => {
    let running = 0;
    let mostAtOnce = 0;
    let passes = 0;
    // A pass slower than the schedule's period, like a drain catching up after a burst.
    const runner: Pick<ReconcileRunner, 'run'> = {
      async run(trigger) {
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        running -= 1;
        passes += 1;
        const now = new Date().toISOString();
        return { id: String(passes), trigger, startedAt: now, finishedAt: now, expiredReleased: 0, eventsWritten: 0, drift: [], repaired: false } satisfies ReconcileReport;
      },
    };
    const messages: string[] = [];
    const record = (level: string) => (...args: unknown[]) => void messages.push(`${level} ${args.map(String).join(' ')}`);
    const log = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') } as unknown as FastifyBaseLogger;
    const consoleWarn = vi.spyOn(console, 'warn');
    const task = scheduleReconciler(runner, '* * * * * *', log);
    try {
      await new Promise((resolve) => setTimeout(resolve, 4200));
    } finally {
      await task.stop();
    }
    expect(mostAtOnce).toBe(1);
    expect(passes).toBeGreaterThanOrEqual(1);
    expect(messages.filter((m) => m.includes('tick skipped')).length).toBeGreaterThanOrEqual(1);
    expect(messages.filter((m) => m.startsWith('warn') || m.startsWith('error'))).toEqual([]);
    expect(consoleWarn).not.toHaveBeenCalled();
    consoleWarn.mockRestore();
  }, 15_000);
});

import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Processes that each keep one core busy, as a noisy neighbour or a burst elsewhere on the machine
 * would: the engines, Redis and Postgres get less CPU and every step of theirs takes longer, which
 * widens the windows between them (a drain's read and its write, a rebuild's epoch and its reads).
 * `stop` ends them.
 */
export function occupyCores(count: number): { stop(): void } {
  const spinners: ChildProcess[] = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  return {
    stop() {
      for (const spinner of spinners) spinner.kill('SIGKILL');
    },
  };
}

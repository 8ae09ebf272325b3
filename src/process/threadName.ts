import { writeFileSync } from 'node:fs';

/**
 * Names the calling thread, so `top -H`, `ps -L`, perf and the bench (bench/lib/cpu.ts) tell the
 * engine's threads apart: every thread of a Node process is otherwise called "node". Linux keeps a
 * thread's name in /proc/thread-self/comm, at most 15 bytes; elsewhere this does nothing.
 */
export function nameThisThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // Not Linux, or /proc is not writable here: the thread keeps its name.
  }
}

const PREFIX = 'fs-';

/** The names the engine gives its own threads: a prefix, then what the thread does. */
export const THREAD_NAMES = { background: `${PREFIX}background`, soldOut: `${PREFIX}sold-out` } as const;

/** What one of those names says, for a report ("background thread"); undefined for any other thread's name. */
export function engineThreadLabel(name: string): string | undefined {
  return name.startsWith(PREFIX) ? `${name.slice(PREFIX.length)} thread` : undefined;
}

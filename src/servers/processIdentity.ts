import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * When a process started: with its pid, what names one process for good. A pid alone does not:
 * once its process is gone the kernel hands the number to the next one, and a signal sent by
 * pid to a server that has since died could reach an unrelated process.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    // Linux: field 22 of /proc/<pid>/stat, after the command name (which may hold spaces, so
    // counted from the closing parenthesis).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ...rest] = fields.slice(fields.lastIndexOf(')') + 2).split(' ');
    // A zombie has ended: only its parent's wait is left, and no signal reaches it.
    return state === 'Z' ? undefined : rest[18];
  } catch {
    // No /proc (macOS, BSD): ps prints the start time.
    try {
      return execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

/** The process `pid` names is still the one that started at `startTime`. */
export function isSameProcess(pid: number, startTime: string): boolean {
  return processStartTime(pid) === startTime;
}

/**
 * Stops a process this process did not start (no child handle): SIGTERM, then SIGKILL after
 * `graceMs`; each signal only while `pid` still names the process that started at `startTime`,
 * so a process that died meanwhile, or a stranger that got its pid, is left alone.
 */
export async function stopProcess(pid: number, startTime: string, graceMs = 10_000): Promise<void> {
  const signal = (name: NodeJS.Signals): boolean => {
    if (!isSameProcess(pid, startTime)) return false;
    try {
      process.kill(pid, name);
      return true;
    } catch {
      return false; // gone between the check and the signal
    }
  };
  if (!signal('SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  let killed = false;
  while (isSameProcess(pid, startTime)) {
    if (!killed && Date.now() > deadline) killed = signal('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

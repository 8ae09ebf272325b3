import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReadinessCheck } from './readiness';

/** How much of a server's stdout and stderr is kept for the error when it fails to start. */
const OUTPUT_KEPT = 4000;

export interface ServerProcessOptions {
  /** Names the server in errors, e.g. `redis-server (data in /tmp/x)`. */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Polled until it says the server answers (see readiness.ts). */
  ready: ReadinessCheck;
  /** How long the server may take to answer (default 10 s). */
  startTimeoutMs?: number;
  /** Pause between two readiness checks (default 50 ms). */
  pollMs?: number;
  /** A file that gets all of its stdout and stderr too, appended (a restart adds to it). */
  outputFile?: string;
}

/** A server process this process started and answers for. */
export interface ServerProcess {
  readonly pid: number;
  /** Sends a signal and returns at once (SIGSTOP / SIGCONT pause and resume it). */
  signal(signal: NodeJS.Signals): void;
  /**
   * Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL follows if the process is
   * still there after `graceMs` (default 10 s).
   */
  stop(options?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<void>;
}

/**
 * Spawns a server and resolves once `ready` says it answers. A server that exits first, or does
 * not answer in time, is killed and reported with the last of its output.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const { name, ready, startTimeoutMs = 10_000, pollMs = 50 } = options;
  const child = spawn(options.command, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk).slice(-OUTPUT_KEPT);
    if (options.outputFile) appendFileSync(options.outputFile, chunk);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // A binary that cannot be spawned emits 'error' and never 'exit'.
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => !spawnError && child.exitCode === null && child.signalCode === null;
  const howItEnded = () => spawnError?.message ?? (child.signalCode ? `killed by ${child.signalCode}` : `exit code ${child.exitCode}`);

  const deadline = Date.now() + startTimeoutMs;
  while (!(await ready())) {
    const failure = !running()
      ? `exited before it answered (${howItEnded()})`
      : Date.now() > deadline
        ? `did not answer within ${startTimeoutMs} ms`
        : undefined;
    if (failure) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start: ${failure}:\n${output.trim() || 'no output'}`);
    }
    await sleep(pollMs);
  }

  return {
    pid: child.pid!,
    signal: (signal) => void child.kill(signal),
    async stop({ signal = 'SIGTERM', graceMs = 10_000 } = {}) {
      if (!running()) return;
      child.kill(signal);
      const escalation = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(escalation);
    },
  };
}

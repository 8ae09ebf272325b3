import os from 'node:os';
import { type Logger, type LoggerOptions, pino } from 'pino';
import { engineLogOptions } from '../logOptions';

/**
 * The logger settings of one process of a many-process engine (WORKERS > 1): Fastify's JSON lines,
 * each naming its process (`role: "primary"` or `worker: n`, besides the pid). LOG_LEVEL applies.
 */
export function processLogOptions(level: string, bindings: Record<string, string | number>): LoggerOptions {
  return engineLogOptions(level, { pid: process.pid, hostname: os.hostname(), ...bindings });
}

export function processLogger(level: string, bindings: Record<string, string | number>): Logger {
  return pino(processLogOptions(level, bindings));
}

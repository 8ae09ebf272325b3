import type { EventEmitter } from 'node:events';
import autocannon from 'autocannon';
import { type CpuReading, CpuWatch, combineReadings, describeReading } from './cpu';

export interface LoadResult {
  label: string;
  connections: number;
  durationSeconds: number;
  requests: number;
  rps: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  statusCounts: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU time per request of each process of the run (when the run was given a CpuWatch). */
  cpu?: CpuReading;
}

export type LoadOptions = autocannon.Options & {
  label: string;
  progress?: (line: string) => void;
  cpu?: CpuWatch;
  /**
   * Work the load leaves behind, awaited before the CPU time is read: an engine's drain of the
   * holds the run made into Postgres, so it is counted in the run that caused it (not in the
   * next server's turn, which it would also slow). Requests per second count the load alone.
   */
  settle?: () => Promise<void>;
};

/**
 * Runs autocannon and reduces its result to what the report shows; prints progress every 2 s.
 * With `cpu`, reads the CPU time of those processes just before and just after the run.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { label, progress, cpu, settle, ...cannon } = options;
  const cpuBefore = cpu?.snapshot();
  const started = Date.now();
  let sent = 0;
  // Without a callback autocannon returns an emitter that is also a promise of the result.
  const instance = autocannon(cannon) as unknown as EventEmitter & Promise<autocannon.Result>;
  instance.on('response', () => (sent += 1));
  const ticker = setInterval(() => progress?.(`    ${label}: ${((Date.now() - started) / 1000).toFixed(0)} s, ${sent.toLocaleString('en')} responses`), 2000);
  const result = await instance;
  const seconds = (Date.now() - started) / 1000;
  clearInterval(ticker);
  await settle?.();
  const cpuAfter = cpu?.snapshot();
  const statusCounts: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = (stats as { count: number }).count;
  const requests = Object.values(statusCounts).reduce((a, b) => a + b, 0);
  const reading = cpu && cpuBefore && cpuAfter ? CpuWatch.reading(cpuBefore, cpuAfter, requests, (Date.now() - started) / 1000) : undefined;
  if (reading) progress?.(`    ${label}: ${describeReading(reading)}`);
  return {
    label,
    connections: cannon.connections ?? 10,
    durationSeconds: Number(seconds.toFixed(2)),
    requests,
    rps: Math.round(requests / seconds),
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    statusCounts,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    ...(reading && { cpu: reading }),
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Several runs of one load as one row: counts and time are summed (so rps is the overall rate)
 * and each latency percentile is the median of the runs' percentiles.
 */
export function combineLoads(label: string, loads: LoadResult[]): LoadResult {
  const sum = (pick: (load: LoadResult) => number) => loads.reduce((total, load) => total + pick(load), 0);
  const statusCounts: Record<string, number> = {};
  for (const load of loads) for (const [code, count] of Object.entries(load.statusCounts)) statusCounts[code] = (statusCounts[code] ?? 0) + count;
  const requests = sum((load) => load.requests);
  const durationSeconds = sum((load) => load.durationSeconds);
  const percentile = (pick: (load: LoadResult) => number) => median(loads.map(pick));
  return {
    label,
    connections: loads[0].connections,
    durationSeconds: Number(durationSeconds.toFixed(2)),
    requests,
    rps: Math.round(requests / durationSeconds),
    latency: { p50: percentile((l) => l.latency.p50), p90: percentile((l) => l.latency.p90), p99: percentile((l) => l.latency.p99), max: Math.max(...loads.map((l) => l.latency.max)) },
    statusCounts,
    non2xx: sum((load) => load.non2xx),
    errors: sum((load) => load.errors),
    timeouts: sum((load) => load.timeouts),
    ...(loads.every((load) => load.cpu) && { cpu: combineReadings(loads.map((load) => load.cpu!)) }),
  };
}


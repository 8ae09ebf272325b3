import type { EventEmitter } from 'node:events';
import autocannon from 'autocannon';

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
}

export type LoadOptions = autocannon.Options & { label: string; progress?: (line: string) => void };

/** Runs autocannon and reduces its result to what the report shows; prints progress every 2 s. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { label, progress, ...cannon } = options;
  const started = Date.now();
  let sent = 0;
  // Without a callback autocannon returns an emitter that is also a promise of the result.
  const instance = autocannon(cannon) as unknown as EventEmitter & Promise<autocannon.Result>;
  instance.on('response', () => (sent += 1));
  const ticker = setInterval(() => progress?.(`    ${label}: ${((Date.now() - started) / 1000).toFixed(0)} s, ${sent.toLocaleString('en')} responses`), 2000);
  const result = await instance;
  clearInterval(ticker);
  const statusCounts: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = (stats as { count: number }).count;
  const seconds = (Date.now() - started) / 1000;
  const requests = Object.values(statusCounts).reduce((a, b) => a + b, 0);
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
  };
}

import { performance } from 'node:perf_hooks';
import { status } from '@grpc/grpc-js';
import type { InventoryCallError, InventoryClientApi } from '../../src/grpc/client';
import type { ReserveStockRequest } from '../../src/grpc/generated/flashsale/v1/ReserveStockRequest';
import { CpuWatch, describeReading } from './cpu';
import type { LoadResult } from './load';

export interface GrpcLoadOptions {
  label: string;
  client: InventoryClientApi;
  request: ReserveStockRequest;
  /** Calls kept in flight at once (autocannon's connections, for HTTP). */
  concurrency: number;
  /** Seconds of load. */
  duration: number;
  progress?: (line: string) => void;
  cpu?: CpuWatch;
  /** As LoadOptions.settle (load.ts): work the load leaves behind, awaited before the CPU time is read. */
  settle?: () => Promise<void>;
}

/** The value at fraction `p` of sorted latencies, ms. */
function percentile(sorted: number[], p: number): number {
  return sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(2)) : 0;
}

/**
 * ReserveStock calls in a bounded loop (no gRPC load generator such as ghz is at hand):
 * `concurrency` calls in flight on one client, each loop starting its next call when its last
 * is answered, for `duration` seconds. Reduced to the LoadResult an HTTP run gives, with status
 * counts by gRPC status name (OK, FAILED_PRECONDITION…) and the same CPU reading.
 */
export async function runGrpcReserveLoad(options: GrpcLoadOptions): Promise<LoadResult> {
  const { label, client, request, concurrency, duration, progress, cpu, settle } = options;
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  const count = (name: string) => (statusCounts[name] = (statusCounts[name] ?? 0) + 1);
  const cpuBefore = cpu?.snapshot();
  const started = performance.now();
  const deadline = started + duration * 1000;
  const ticker = setInterval(() => progress?.(`    ${label}: ${((performance.now() - started) / 1000).toFixed(0)} s, ${latencies.length.toLocaleString('en')} responses`), 2000);
  const loop = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      await client.reserveStock(request).then(
        () => count(status[status.OK]),
        (error: InventoryCallError) => count(status[error.status] ?? 'ERROR'),
      );
      latencies.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(ticker);
  await settle?.();
  const cpuAfter = cpu?.snapshot();
  const requests = latencies.length;
  const reading = cpu && cpuBefore && cpuAfter ? CpuWatch.reading(cpuBefore, cpuAfter, requests, (performance.now() - started) / 1000) : undefined;
  if (reading) progress?.(`    ${label}: ${describeReading(reading)}`);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    label,
    connections: concurrency,
    durationSeconds: Number(seconds.toFixed(2)),
    requests,
    rps: Math.round(requests / seconds),
    latency: { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), max: percentile(sorted, 1) },
    statusCounts,
    non2xx: requests - (statusCounts.OK ?? 0),
    errors: 0,
    timeouts: 0,
    ...(reading && { cpu: reading }),
  };
}

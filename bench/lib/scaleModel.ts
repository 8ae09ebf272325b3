/**
 * The scale model: the throughput of N engine cores over S Redis shards, bounded by whichever
 * stage runs out of CPU first, from the CPU time per request each stage was measured to spend.
 *
 *   engine bound = N · 1e6 / engine µs per request     (N processes, one core each)
 *   Redis bound  = 1e6 / µs per request of the busiest shard
 *     hot SKU:    every reserve lands on the one shard of its partition, whatever S is;
 *     many SKUs:  P partitions (REDIS_PARTITIONS) spread over S shards, the busiest holding
 *                 ceil(P / S) of them: 1e6 / (Redis µs · ceil(P / S) / P)
 *     a hot SKU split into B buckets (B partitions, src/domain/buckets.ts): likewise over its B
 *                 partitions, 1e6 / (Redis µs · ceil(B / S) / B), with B's own per-reserve cost
 *   bound        = min(engine bound, Redis bound)
 *
 * The costs come from the matching measured configuration: one Redis for S = 1, the cluster for
 * S > 1 (its per-request cost includes what a cluster adds: more, smaller script calls); one
 * engine process for N = 1, two for N > 1 (what several processes add: each folds fewer reserves
 * into a script call). The load generator is not part of the bound: a sale's shoppers bring their
 * own CPU; it is listed for the machine the measurement ran on, where it shares the cores.
 */
import type { CpuReading } from './cpu';

export type Shape = 'hot' | 'spread' | 'bucketed';

/** The CPU of one measured run, reduced to what the model needs, µs per request. */
export interface StageCosts {
  generatorUs: number;
  engineUs: number;
  /** Every redis-server summed. */
  redisUs: number;
  /** The redis-server that spent the most (the hot SKU's shard; on one Redis, that Redis). */
  busiestRedisUs: number;
  redisNodes: number;
}

export function stageCosts(reading: CpuReading): StageCosts {
  const redis = reading.processes.filter((p) => p.stage === 'redis');
  return {
    generatorUs: reading.stages['load generator'] ?? 0,
    engineUs: reading.stages.engine ?? 0,
    redisUs: reading.stages.redis ?? 0,
    busiestRedisUs: Math.max(0, ...redis.map((p) => p.us)),
    redisNodes: redis.length,
  };
}

/** The measured costs of one shape: by Redis (one, or the cluster) and by engine processes (1, 2). */
export interface ModelInputs {
  shape: Shape;
  /** REDIS_PARTITIONS on the cluster (16 by default). */
  partitions: number;
  /** A split hot SKU's buckets, each its own partition. */
  buckets?: number;
  oneRedis: { 1: StageCosts; 2: StageCosts };
  cluster: { 1: StageCosts; 2: StageCosts };
}

export interface Bound {
  engineCores: number;
  shards: number;
  engineBound: number;
  redisBound: number;
  rps: number;
  limit: 'engine' | 'redis';
}

export function bound(inputs: ModelInputs, engineCores: number, shards: number): Bound {
  const costs = (shards === 1 ? inputs.oneRedis : inputs.cluster)[engineCores === 1 ? 1 : 2];
  const engineBound = (engineCores * 1e6) / Math.max(costs.engineUs, 1e-3);
  let busiestShardUs: number;
  if (shards === 1) busiestShardUs = costs.redisUs;
  else if (inputs.shape === 'hot') busiestShardUs = costs.busiestRedisUs;
  else {
    const spreadOver = inputs.shape === 'bucketed' ? inputs.buckets! : inputs.partitions;
    busiestShardUs = (costs.redisUs * Math.ceil(spreadOver / shards)) / spreadOver;
  }
  const redisBound = 1e6 / Math.max(busiestShardUs, 1e-3);
  return { engineCores, shards, engineBound: Math.round(engineBound), redisBound: Math.round(redisBound), rps: Math.round(Math.min(engineBound, redisBound)), limit: engineBound <= redisBound ? 'engine' : 'redis' };
}

export const MODEL_ENGINE_CORES = [1, 2, 4, 8, 16];
export const MODEL_SHARDS = [1, 3, 6, 12];

const thousands = (rps: number) => (rps >= 10_000 ? `${Math.round(rps / 1000)}k` : `${(rps / 1000).toFixed(1)}k`);

/** The bounds for a grid of (N, S) as a table: one row per N, one column per S; each cell says which stage binds. */
export function modelTable(inputs: ModelInputs): { header: string[]; rows: string[][]; bounds: Bound[] } {
  const bounds: Bound[] = [];
  const rows = MODEL_ENGINE_CORES.map((engineCores) => [
    `${engineCores} engine core${engineCores > 1 ? 's' : ''}`,
    ...MODEL_SHARDS.map((shards) => {
      const b = bound(inputs, engineCores, shards);
      bounds.push(b);
      return `${thousands(b.rps)} (${b.limit})`;
    }),
  ]);
  const name = { hot: 'hot SKU', spread: '1000 SKUs', bucketed: `hot SKU in ${inputs.buckets} buckets` }[inputs.shape];
  return { header: [`${name}: req/s bound`, ...MODEL_SHARDS.map((s) => `${s} shard${s > 1 ? 's' : ''}`)], rows, bounds };
}

/** What the measuring machine allows: every stage, load generator included, on `cores` cores. */
export function machineBound(costs: StageCosts, cores: number): number {
  return Math.round((cores * 1e6) / Math.max(costs.generatorUs + costs.engineUs + costs.redisUs, 1e-3));
}

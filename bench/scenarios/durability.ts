import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startThrowawayRedisCluster } from '../../tools/throwawayRedisCluster';
import { type CpuReading, redisPid } from '../lib/cpu';
import { startEngine } from '../lib/processes';
import { stageCell } from '../lib/report';
import { type Check, type ReportTable, type Scenario, check } from '../lib/types';
import { type RedisUnderTest, type Run, SHAPES, measure, putOnSale, scriptCalls } from './scale';

const MASTERS = 3;
const SPREAD_SKUS = SHAPES.find((shape) => shape.shape === 'spread')!.skus.length;
/** REDIS_WAIT_REPLICAS of the two engines measured one after the other on the same cluster and data. */
const WAIT_SETTINGS = [0, 1] as const;
/**
 * REDIS_WAIT_TIMEOUT_MS of the engine that waits: on two cores shared with the load generator and
 * six redis-servers a replica may wait for a core longer than the default 200 ms (a run with it
 * answered 6 of 9,435 reserves 503); what is measured is the cost of waiting, not timeouts.
 */
const WAIT_TIMEOUT_MS = 1000;

/** Calls of WAIT every master has answered so far. */
async function waitCalls(masters: Redis[]): Promise<number> {
  const infos = await Promise.all(masters.map((client) => client.info('commandstats')));
  return infos.reduce((sum, info) => sum + Number(/^cmdstat_wait:calls=(\d+)/m.exec(info)?.[1] ?? 0), 0);
}

/** The cluster with one replica per master; the CPU of the replicas is counted with Redis's. */
async function startReplicatedCluster(): Promise<RedisUnderTest & { masters: Redis[] }> {
  const cluster = await startThrowawayRedisCluster({ masters: MASTERS, replicasPerMaster: 1, appendonly: true });
  const masters = cluster.masters.map((port) => new Redis({ host: '127.0.0.1', port }));
  const replicas = cluster.replicas.map(({ port }) => new Redis({ host: '127.0.0.1', port }));
  const masterPids = await Promise.all(masters.map(redisPid));
  const replicaPids = await Promise.all(replicas.map(redisPid));
  return {
    backend: `${MASTERS}-master cluster, 1 replica each`,
    env: { REDIS_CLUSTER_NODES: cluster.nodesList },
    targets: [
      ...masterPids.map((pid, n) => ({ kind: 'process' as const, pid, stage: 'redis' as const, name: `redis master ${n + 1}` })),
      ...replicaPids.map((pid, n) => ({ kind: 'process' as const, pid, stage: 'redis' as const, name: `redis replica ${n + 1}` })),
    ],
    clients: masters,
    masters,
    async stop() {
      for (const client of [...masters, ...replicas]) client.disconnect();
      await cluster.stop();
    },
  };
}

export const durability: Scenario = {
  name: 'durability',
  // A six-node cluster and two engine starts: about 30 s even in --quick, a quarter more on CI's bench.
  inQuickSuite: false,
  description: `What REDIS_WAIT_REPLICAS=1 costs: reserves on one hot SKU and over ${SPREAD_SKUS} SKUs against one engine process on a ${MASTERS}-master Redis Cluster with one replica per master (AOF, appendfsync always; reconciler paused), first with REDIS_WAIT_REPLICAS=0, then =1 (REDIS_WAIT_TIMEOUT_MS=${WAIT_TIMEOUT_MS}) on the same cluster and data, 100 connections; req/s, p99 and CPU time per request of the engine and every Redis process, replicas included.`,
  async run(context) {
    const checks: Check[] = [];
    const runs: (Run & { wait: number; waitsPerCall: number })[] = [];
    const startedAt = performance.now();
    const redis = await startReplicatedCluster();
    context.progress(`    the cluster started in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fs-bench-durability-'));
    try {
      for (const wait of WAIT_SETTINGS) {
        const engineAt = performance.now();
        const engine = await startEngine({ ...redis.env, DATA_DIR: dataDir, KEY_PREFIX: 'durability', RECONCILE_CRON: '0 0 1 1 *', REDIS_WAIT_REPLICAS: String(wait), REDIS_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS) });
        try {
          const upAt = performance.now();
          if (wait === WAIT_SETTINGS[0]) for (const shape of SHAPES) await putOnSale(engine, shape.skus, shape.shape === 'hot' ? 1_000_000_000 : 10_000_000);
          context.progress(`    REDIS_WAIT_REPLICAS=${wait}: engine started in ${((upAt - engineAt) / 1000).toFixed(1)} s, SKUs ready ${((performance.now() - upAt) / 1000).toFixed(1)} s later`);
          for (const shape of SHAPES) {
            const before = { waits: await waitCalls(redis.masters), calls: await scriptCalls(redis.masters) };
            const run = await measure(engine, { ...redis, backend: `${redis.backend}, REDIS_WAIT_REPLICAS=${wait}` }, 1, shape, context.quick, context.progress, checks);
            // Around the warm-up and the measured load both.
            const waits = (await waitCalls(redis.masters)) - before.waits;
            const calls = (await scriptCalls(redis.masters)) - before.calls;
            runs.push({ ...run, wait, waitsPerCall: waits / Math.max(1, calls) });
            checks.push(
              check(
                `REDIS_WAIT_REPLICAS=${wait}, ${shape.name}: ${wait ? 'at most one WAIT per script call, on the masters' : 'no WAIT'}`,
                wait ? waits > 0 && waits <= calls : waits === 0,
                `${waits} WAITs for ${calls} script calls (${run.reservesPerScriptCall} reserves per script call)`,
              ),
            );
          }
        } finally {
          await engine.stop();
        }
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await redis.stop();
    }
    return result(this.description, runs, checks, context.progress);
  },
};

function result(description: string, runs: (Run & { wait: number; waitsPerCall: number })[], checks: Check[], progress: (line: string) => void) {
  const readingOf = (run: Run): CpuReading => run.load.cpu!;
  const nameOf = (run: Run) => SHAPES.find((shape) => shape.shape === run.shape)!.name;
  const table: ReportTable = {
    title: `durability: REDIS_WAIT_REPLICAS=0 and =1 on a ${MASTERS}-master cluster with 1 replica each (CPU µs per request)`,
    header: ['REDIS_WAIT_REPLICAS', 'SKUs', 'req/s', 'p99 ms', 'engine µs', 'redis µs (masters + replicas)', 'total µs', 'WAITs per script call'],
    numeric: [2, 3, 6],
    rows: runs.map((run) => [
      String(run.wait),
      nameOf(run),
      run.load.rps.toLocaleString('en'),
      String(run.load.latency.p99),
      stageCell(readingOf(run), 'engine'),
      stageCell(readingOf(run), 'redis'),
      readingOf(run).totalUs.toFixed(1),
      run.waitsPerCall.toFixed(2),
    ]),
  };
  progress(`  ${table.title}`);
  for (const row of table.rows) progress(`    ${row.join(' | ')}`);
  const figures: Record<string, number | string> = {};
  for (const run of runs) {
    const label = `REDIS_WAIT_REPLICAS=${run.wait}, ${nameOf(run)}`;
    figures[`${label}: rps`] = run.load.rps;
    figures[`${label}: p99 ms`] = run.load.latency.p99;
    figures[`${label}: CPU µs per request`] = readingOf(run).totalUs;
  }
  return { name: 'durability', description, loads: runs.map((run) => run.load), figures, checks, tables: [table] };
}

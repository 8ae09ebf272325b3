import { isConserved } from '../../src/domain/sku';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startThrowawayRedis } from '../../tools/throwawayRedis';
import { startThrowawayRedisCluster } from '../../tools/throwawayRedisCluster';
import { type CpuReading, type CpuTarget, redisPid } from '../lib/cpu';
import { type LoadResult, runLoad } from '../lib/load';
import { type Server, admin, startEngine } from '../lib/processes';
import { cores, stageCell } from '../lib/report';
import { type Bound, MODEL_ENGINE_CORES, MODEL_SHARDS, type ModelInputs, type Shape, type StageCosts, machineBound, modelTable, stageCosts } from '../lib/scaleModel';
import { type Check, type ReportTable, type Scenario, check } from '../lib/types';
import { CONNECTIONS, JSON_HEADERS, durations } from './settings';

const SPREAD_SKUS = 1000;
const CLUSTER_MASTERS = 3;
/** REDIS_PARTITIONS on the cluster: the engine's default there. */
const CLUSTER_PARTITIONS = 16;
/** A load: the SKUs its reserves go to, in turn; `buckets` when its one SKU is split (src/domain/buckets.ts). */
export interface Load {
  shape: Shape;
  name: string;
  skus: string[];
  buckets?: number;
}
/** The two loads: every reserve on one SKU, or spread over many (also the durability scenario's). */
export const SHAPES: Load[] = [
  { shape: 'hot', name: 'hot SKU', skus: ['hot'] },
  { shape: 'spread', name: `${SPREAD_SKUS} SKUs`, skus: Array.from({ length: SPREAD_SKUS }, (_, n) => `item-${n}`) },
];
/** A hot SKU split into as many buckets as the model's largest cluster has shards. */
const BUCKETS = 12;
/** This scenario's loads: the two, and the hot SKU split into buckets. */
const SCALE_SHAPES: Load[] = [...SHAPES, { shape: 'bucketed', name: `hot SKU in ${BUCKETS} buckets`, skus: ['hot-split'], buckets: BUCKETS }];
const WORKER_COUNTS = [1, 2] as const;
const QUICK = { seconds: 1, warmup: 0.3 };
type Backend = 'one Redis' | `${typeof CLUSTER_MASTERS}-master cluster` | (string & {});

interface SkuView {
  total: number;
  available: number;
  reserved: number;
  sold: number;
}

/** A Redis the engines use: how to point an engine at it, and the redis-server processes to read. */
export interface RedisUnderTest {
  backend: Backend;
  env: Record<string, string>;
  targets: CpuTarget[];
  /** Clients of every master, for INFO commandstats (script calls). */
  clients: Redis[];
  stop(): Promise<void>;
}

/**
 * The SKU views once they stopped changing: read every 300 ms until two reads agree (at most 5 s).
 * Reserves still in the engine when their connection closed finish, and are undone, meanwhile.
 */
async function settledViews(engine: Server, skus: string[]): Promise<SkuView[]> {
  const availableOf = (list: SkuView[]) => list.reduce((sum, view) => sum + view.available, 0);
  let last = await views(engine, skus);
  for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = await views(engine, skus);
    if (availableOf(now) === availableOf(last)) return now;
    last = now;
  }
  return last;
}

/** Every SKU's view, 50 reads in flight. */
async function views(engine: Server, skus: string[]): Promise<SkuView[]> {
  const result: SkuView[] = new Array(skus.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(50, skus.length) }, async () => {
      while (next < skus.length) {
        const n = next++;
        result[n] = await (await fetch(`${engine.url}/v1/skus/${skus[n]}`)).json();
      }
    }),
  );
  return result;
}

/** Puts every SKU on sale, 25 PUTs in flight. */
export async function putOnSale(engine: Server, skus: string[], total: number, buckets = 1): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(25, skus.length) }, async () => {
      while (next < skus.length) await admin(engine, 'PUT', `/v1/admin/skus/${skus[next++]}`, { total, ...(buckets > 1 ? { buckets } : {}) });
    }),
  );
}

/** Script calls (EVALSHA and EVAL) every master has answered so far. */
export async function scriptCalls(clients: Redis[]): Promise<number> {
  const infos = await Promise.all(clients.map((client) => client.info('commandstats')));
  return infos.reduce((sum, info) => sum + [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0), 0);
}

async function startOneRedis(): Promise<RedisUnderTest> {
  const server = await startThrowawayRedis({ appendonly: true });
  const client = new Redis(server.url);
  const pid = await redisPid(client);
  return {
    backend: 'one Redis',
    env: { REDIS_URL: server.url },
    targets: [{ kind: 'process', pid, stage: 'redis', name: 'redis' }],
    clients: [client],
    async stop() {
      client.disconnect();
      await server.stop();
    },
  };
}

async function startCluster(): Promise<RedisUnderTest> {
  const cluster = await startThrowawayRedisCluster({ masters: CLUSTER_MASTERS, appendonly: true });
  const clients = cluster.masters.map((port) => new Redis({ host: '127.0.0.1', port }));
  const pids = await Promise.all(clients.map(redisPid));
  return {
    backend: `${CLUSTER_MASTERS}-master cluster`,
    env: { REDIS_CLUSTER_NODES: cluster.nodesList, REDIS_PARTITIONS: String(CLUSTER_PARTITIONS) },
    // Masters in slot order: node 1 serves the lowest slots.
    targets: pids.map((pid, n) => ({ kind: 'process', pid, stage: 'redis', name: `redis node ${n + 1}` })),
    clients,
    async stop() {
      for (const client of clients) client.disconnect();
      await cluster.stop();
    },
  };
}

export interface Run {
  backend: Backend;
  workers: 1 | 2;
  shape: Shape;
  load: LoadResult;
  reservesPerScriptCall: number;
}

/** One measured run of one shape against one engine, with its invariant checks. */
export async function measure(engine: Server, redis: RedisUnderTest, workers: 1 | 2, shape: Load, quick: boolean, progress: (line: string) => void, checks: Check[]): Promise<Run> {
  // --quick: 12 runs and 4 engine starts in CI's minute or two, so shorter runs than the others'.
  const { seconds, warmup } = quick ? QUICK : durations(false);
  const label = `WORKERS=${workers}, ${redis.backend}, ${shape.name}`;
  let n = 0;
  const options = {
    url: engine.url,
    connections: CONNECTIONS,
    requests: [
      {
        method: 'POST' as const,
        path: '/v1/reservations',
        headers: JSON_HEADERS,
        setupRequest: (request: object) => {
          n += 1;
          return { ...request, body: JSON.stringify({ userId: `u-${n}`, orderId: `o-${n}`, items: [{ sku: shape.skus[n % shape.skus.length], qty: 1 }] }) };
        },
      },
    ],
  };
  await runLoad({ ...options, label: `${label} warm-up`, duration: warmup });
  // The warm-up's last requests finish in the engine after their connections closed, and the
  // holds nobody received are undone: the counters are read once they stopped moving.
  const before = await settledViews(engine, shape.skus);
  const callsBefore = await scriptCalls(redis.clients);
  // autocannon builds each request (setupRequest) just before writing it: `n` counts the reserves sent.
  const sentBefore = n;
  const load = await runLoad({ ...options, label, duration: seconds, progress, cpu: engine.cpu.with(...redis.targets) });
  const sent = n - sentBefore;
  const after = await settledViews(engine, shape.skus);
  const calls = (await scriptCalls(redis.clients)) - callsBefore;

  const held = load.statusCounts['201'] ?? 0;
  const moved = before.reduce((sum, view, k) => sum + view.available - after[k].available, 0);
  const reservedMoved = before.reduce((sum, view, k) => sum + after[k].reserved - view.reserved, 0);
  const conserved = after.every(isConserved);
  checks.push(
    check(`${label}: every reserve held a unit`, load.non2xx === 0 && load.errors === 0, `${load.non2xx} non-2xx, ${load.errors} errors`),
    // Reserves in flight when the load stopped hold their unit without their answer being counted
    // (or are undone, nobody having received them):
    // every answered hold moved one unit, and no unit moved without a reserve sent for it.
    check(
      `${label}: no oversell: held units equal counter movement`,
      held <= moved && moved <= sent && sent - held <= CONNECTIONS,
      `${held} holds answered + ${moved - held} in flight at the stop = ${moved} units taken from the counters; ${sent} reserves sent`,
    ),
    check(`${label}: counters conserved`, conserved && reservedMoved === moved, `available + reserved + sold = total on ${after.length} SKU(s); reserved grew by ${reservedMoved}`),
  );
  return { backend: redis.backend, workers, shape: shape.shape, load, reservesPerScriptCall: Number((moved / Math.max(1, calls)).toFixed(1)) };
}

const k = (rps: number) => rps.toLocaleString('en');

/** Per added shard, the split hot SKU's Redis bound against linear growth from one Redis: bound(S) / (S · bound(1)). */
function bucketedScaling(bounds: Bound[]): { shards: number; ofLinear: number }[] {
  const redisBound = (shards: number) => bounds.find((b) => b.shards === shards)!.redisBound;
  return MODEL_SHARDS.filter((shards) => shards > 1).map((shards) => ({ shards, ofLinear: redisBound(shards) / (shards * redisBound(1)) }));
}

function modelNotes(runs: Run[], bucketed: Bound[]): string[] {
  const generatorUs = runs.reduce((sum, run) => sum + (run.load.cpu!.stages['load generator'] ?? 0), 0) / runs.length;
  const spread = runs.filter((run) => run.shape === 'spread' && run.backend !== 'one Redis').map((run) => {
    const nodes = run.load.cpu!.processes.filter((p) => p.stage === 'redis');
    const total = nodes.reduce((sum, p) => sum + p.us, 0);
    return `${Math.round((100 * Math.max(...nodes.map((p) => p.us))) / Math.max(total, 1e-9))} % (WORKERS=${run.workers})`;
  });
  return [
    `Engine bound N·1e6 / engine µs (N = 1: the WORKERS=1 run; N > 1: the WORKERS=2 run). Redis bound 1e6 / µs of the busiest shard (S = 1: the one-Redis run; S > 1: the cluster run): a hot SKU's shard carries all of it; ${SPREAD_SKUS} SKUs spread over ${CLUSTER_PARTITIONS} partitions (REDIS_PARTITIONS), the busiest of S shards serving ceil(${CLUSTER_PARTITIONS}/S) of them (measured on ${CLUSTER_MASTERS} masters: the busiest node spent ${spread.join(', ')} of the cluster's Redis CPU; even would be ${Math.round(100 / CLUSTER_MASTERS)} %).`,
    `The load generator is left out (shoppers bring their own CPU); measured here it spends ${generatorUs.toFixed(0)} µs per request, so driving a bound of B req/s takes B·${generatorUs.toFixed(0)}/1e6 cores of autocannon (${k(Math.round(1e6 / Math.max(generatorUs, 1e-3)))} req/s per core).`,
    `The hot SKU in ${BUCKETS} buckets spreads its Redis work over its ${BUCKETS} partitions, the busiest of S shards serving ceil(${BUCKETS}/S) of them; its Redis bound against linear growth from one Redis (bound(S) / (S · bound(1)), the cluster's per-reserve cost against one Redis's): ${bucketedScaling(bucketed).map(({ shards, ofLinear }) => `${ofLinear.toFixed(2)} at ${shards} shards`).join(', ')}.`,
  ];
}

export const scale: Scenario = {
  name: 'scale',
  description: `Reserves on one hot SKU, on one hot SKU split into ${BUCKETS} buckets, and over ${SPREAD_SKUS} SKUs against 1 and 2 engine processes (WORKERS), on one Redis and on a ${CLUSTER_MASTERS}-master Redis Cluster on loopback (both AOF, appendfsync always; reconciler paused), 100 connections; CPU time per request of every process, and from it a model of the throughput on N engine cores and S Redis shards.`,
  async run(context) {
    const checks: Check[] = [];
    const runs: Run[] = [];
    // Both Redis set-ups start together; the cluster's idle nodes only gossip while the single Redis is measured.
    const startedAt = performance.now();
    const starting = await Promise.allSettled([startOneRedis(), startCluster()]);
    context.progress(`    one Redis and the ${CLUSTER_MASTERS}-master cluster started in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
    const backends = starting.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      const failed = starting.find((result) => result.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      for (const [b, redis] of backends.entries()) {
        // WORKERS=1, then the same engine restarted with WORKERS=2 on the same data (PGlite files
        // and keys): the SKUs are put on sale once per Redis.
        const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fs-bench-scale-'));
        try {
          for (const workers of WORKER_COUNTS) {
            // One engine at a time: two starting together on a busy 2-core machine can miss the engine's plugin timeout.
            const startedAt = performance.now();
            const engine = await startEngine({ ...redis.env, DATA_DIR: dataDir, WORKERS: String(workers), KEY_PREFIX: `scale${b}`, RECONCILE_CRON: '0 0 1 1 *' });
            try {
              const upAt = performance.now();
              if (workers === WORKER_COUNTS[0]) for (const shape of SCALE_SHAPES) await putOnSale(engine, shape.skus, shape.shape === 'spread' ? 10_000_000 : 1_000_000_000, shape.buckets);
              context.progress(`    WORKERS=${workers} on ${redis.backend}: started in ${((upAt - startedAt) / 1000).toFixed(1)} s, SKUs ready ${((performance.now() - upAt) / 1000).toFixed(1)} s later`);
              for (const shape of SCALE_SHAPES) runs.push(await measure(engine, redis, workers, shape, context.quick, context.progress, checks));
            } finally {
              await engine.stop();
            }
          }
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      }
    } finally {
      await Promise.all(backends.map((redis) => redis.stop()));
    }
    return result(this.description, runs, checks, context.progress);
  },
};

function result(description: string, runs: Run[], checks: Check[], progress: (line: string) => void) {
  const readingOf = (run: Run): CpuReading => run.load.cpu!;
  const costsOf = (backend: Backend, workers: 1 | 2, shape: Shape): StageCosts => {
    const run = runs.find((r) => r.backend === backend && r.workers === workers && r.shape === shape)!;
    return stageCosts(readingOf(run));
  };
  const cluster: Backend = `${CLUSTER_MASTERS}-master cluster`;
  const inputs = SCALE_SHAPES.map(({ shape, buckets }): ModelInputs => ({
    shape,
    partitions: CLUSTER_PARTITIONS,
    buckets,
    oneRedis: { 1: costsOf('one Redis', 1, shape), 2: costsOf('one Redis', 2, shape) },
    cluster: { 1: costsOf(cluster, 1, shape), 2: costsOf(cluster, 2, shape) },
  }));
  const measured: ReportTable = {
    title: 'scale: the 12 runs (CPU µs per request of each process; model bound on 2 cores = 2e6 / total µs)',
    header: ['engine processes', 'Redis', 'SKUs', 'req/s', 'p99 ms', 'load generator µs', 'engine µs', 'redis µs', 'total µs', 'cores busy', 'bound on 2 cores', 'reserves per script call'],
    numeric: [3, 4, 8, 9, 10, 11],
    rows: runs.map((run) => {
      const reading = readingOf(run);
      return [
        `WORKERS=${run.workers}`,
        run.backend,
        SCALE_SHAPES.find((s) => s.shape === run.shape)!.name,
        k(run.load.rps),
        String(run.load.latency.p99),
        stageCell(reading, 'load generator'),
        stageCell(reading, 'engine'),
        stageCell(reading, 'redis'),
        reading.totalUs.toFixed(1),
        cores(reading).toFixed(2),
        k(machineBound(stageCosts(reading), 2)),
        String(run.reservesPerScriptCall),
      ];
    }),
  };
  const models = inputs.map(modelTable);
  const modelTables: ReportTable[] = models.map((model, n) => ({
    title: `scale model, ${SCALE_SHAPES[n].name}: req/s bound on N engine cores and S Redis shards, and the stage that binds`,
    header: model.header,
    numeric: MODEL_SHARDS.map((_, i) => i + 1),
    rows: model.rows,
    notes: n === models.length - 1 ? modelNotes(runs, models[n].bounds) : undefined,
  }));
  for (const table of [measured, ...modelTables]) {
    progress(`  ${table.title}`);
    for (const row of table.rows) progress(`    ${row.join(' | ')}`);
  }
  const figures: Record<string, number | string> = {};
  for (const run of runs) {
    const label = `WORKERS=${run.workers}, ${run.backend}, ${SCALE_SHAPES.find((s) => s.shape === run.shape)!.name}`;
    figures[`${label}: rps`] = run.load.rps;
    figures[`${label}: CPU µs per request`] = readingOf(run).totalUs;
  }
  for (const { shards, ofLinear } of bucketedScaling(models[models.length - 1].bounds)) figures[`model, hot SKU in ${BUCKETS} buckets: Redis bound at ${shards} shards, of linear`] = Number(ofLinear.toFixed(2));
  for (const [n, model] of models.entries()) {
    for (const b of model.bounds.filter((b) => [1, 16].includes(b.engineCores) && [1, 12].includes(b.shards) || (b.engineCores === 4 && b.shards === 3))) {
      figures[`model, ${SCALE_SHAPES[n].name}: ${b.engineCores} engine cores, ${b.shards} shards`] = `${k(b.rps)} req/s (${b.limit})`;
    }
  }
  return {
    name: 'scale',
    description,
    loads: runs.map((run) => run.load),
    figures,
    checks,
    tables: [measured, ...modelTables],
    data: { model: { engineCores: MODEL_ENGINE_CORES, shards: MODEL_SHARDS, inputs, bounds: Object.fromEntries(models.map((m, n) => [SCALE_SHAPES[n].shape, m.bounds])) } },
  };
}

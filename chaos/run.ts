/**
 * `npm run chaos -- [--seed N] [--minutes M] [--cluster] [--workers W] [--partitions P] [--wait-replicas R] [--faults K,…] [--busy-cores B] [--engine-logs DIR]`: starts two engine processes (each with W workers, over P partitions) at once on
 * throwaway servers, drives a mixed workload from many clients while injecting faults chosen by
 * the seed, then checks the invariants over the history and the final state. Exit 1 on a violation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { occupyCores } from './lib/busyCores';
import { check } from './lib/checker';
import { FAULT_KINDS, FaultInjector, type FaultKind } from './lib/faults';
import { Random } from './lib/random';
import { report } from './lib/report';
import { History, Workload } from './lib/workload';
import { startWorld } from './lib/world';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    minutes: { type: 'string', default: '1' },
    cluster: { type: 'boolean', default: false },
    clients: { type: 'string', default: '12' },
    workers: { type: 'string', default: '1' },
    partitions: { type: 'string' },
    'wait-replicas': { type: 'string', default: '0' },
    faults: { type: 'string' },
    'busy-cores': { type: 'string', default: '0' },
    'engine-logs': { type: 'string' },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const minutes = Number(values.minutes);
const clients = Number(values.clients);
const workers = Number(values.workers);
const waitReplicas = Number(values['wait-replicas']);
const busyCores = Number(values['busy-cores']);
const only = values.faults?.split(',') as FaultKind[] | undefined;
const partitions = values.partitions === undefined ? undefined : Number(values.partitions);
const validPartitions = partitions === undefined || (Number.isInteger(partitions) && partitions >= 1 && partitions <= 64);
if (!Number.isInteger(seed) || !(minutes > 0 && minutes <= 60) || !(clients >= 1 && clients <= 200) || !(workers >= 1 && workers <= 4) || !validPartitions || !(only ?? []).every((kind) => FAULT_KINDS.includes(kind)) || !(Number.isInteger(waitReplicas) && waitReplicas >= 0 && waitReplicas <= (values.cluster ? 1 : 0)) || !(Number.isInteger(busyCores) && busyCores >= 0 && busyCores <= 4)) {
  console.error(`usage: npm run chaos -- [--seed N] [--minutes M (0 < M <= 60)] [--cluster] [--clients C] [--workers W (1..4)] [--partitions P (1..64)] [--wait-replicas R (0, or 1 with --cluster: its masters have one replica each)] [--faults KIND,… (only these: ${FAULT_KINDS.join(', ')})] [--busy-cores B (0..4: processes each keeping a core busy during the workload and faults)] [--engine-logs DIR (each engine's whole output, at LOG_LEVEL warn)]`);
  process.exit(2);
}
const started = Date.now();
const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}`);
log(`seed ${seed}`);

const random = new Random(seed);
const engineLogDir = values['engine-logs'];
if (engineLogDir) mkdirSync(engineLogDir, { recursive: true });
const world = await startWorld({ cluster: values.cluster, workers, partitions, waitReplicas, log, engineLogDir });
let exitCode = 1;
try {
  const history = new History();
  const workload = new Workload(world.engines, history, random.fork());
  const injector = new FaultInjector(world, random.fork(), log);
  await workload.setUp();
  const until = Date.now() + minutes * 60_000;
  log(`workload and faults for ${minutes} min${busyCores ? `, ${busyCores} cores kept busy meanwhile` : ''}`);
  const busy = occupyCores(busyCores);
  try {
    await Promise.all([workload.run(clients, until), injector.run(until, only)]);
  } finally {
    busy.stop();
  }
  await injector.heal();
  await workload.afterFaults();
  workload.close();
  log(`${history.ops.length} requests; checking`);
  const result = await check(world, history, injector.faults, log);
  console.log(report(seed, minutes, values.cluster, waitReplicas, history, injector.faults, result));
  exitCode = result.violations.length ? 1 : 0;
  const dump = path.join(os.tmpdir(), `chaos-seed-${seed}.json`);
  writeFileSync(dump, JSON.stringify({ seed, minutes, cluster: values.cluster, waitReplicas, faults: injector.faults, violations: result.violations, lostByDesign: result.lostByDesign, ops: history.ops }));
  log(`history written to ${dump}`);
} catch (error) {
  console.error(`chaos campaign failed to run (seed ${seed}):`, error);
} finally {
  // CHAOS_KEEP_SECONDS=S: the servers stay up that long after the report, to read their final state
  // (with CHAOS_KEEP_ONLY_FAILED=1, after a failed one only).
  const keepSeconds = Number(process.env.CHAOS_KEEP_SECONDS ?? 0);
  if (keepSeconds > 0 && (exitCode !== 0 || !process.env.CHAOS_KEEP_ONLY_FAILED)) {
    log(`servers kept for ${keepSeconds} s: postgres ${world.postgres.url}, redis ${world.redisCluster?.nodesList ?? world.redis?.url}`);
    await new Promise((resolve) => setTimeout(resolve, keepSeconds * 1000));
  }
  await world.stop();
}
process.exit(exitCode);

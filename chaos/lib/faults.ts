import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { askNode } from '../../tools/askNode';
import type { Random } from './random';
import { adminHeaders, call } from './workload';
import { ROOT, type World } from './world';

/** One injected fault: what, when (ms epoch), and whether Redis may have lost acknowledged data by it. */
export interface Fault {
  kind: string;
  t0: number;
  t1: number;
  detail: string;
  /** Redis may have lost acknowledged writes here (emptied, or a replica promoted): losses after it may be "by design". */
  dataLoss: boolean;
  /**
   * The loss came from a replica promoted in its master's place: it lacks only what the master
   * acknowledged before the replica had it, which engines waiting for a replica
   * (REDIS_WAIT_REPLICAS >= 1) never acknowledge. A FLUSHALL is no such loss.
   */
  replicaPromoted?: boolean;
  error?: string;
}


export const FAULT_KINDS = [
  'engine-kill',
  'reconciler-killed-mid-pass',
  'cli-reconciler-kill',
  'redis-pause',
  'postgres-kill',
  'redis-kill',
  'reconcile-race',
  'redis-flush',
  'failover',
  'forced-failover',
  'stale-replica-failover',
  'replica-kill',
  'reshard',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const run = promisify(execFile);

/** Starts `npm run reconcile` (from source) against the campaign's servers and kill -9s it after `afterMs`; resolves with how it ended. */
async function killCliPassAfter(env: Record<string, string>, repair: boolean, afterMs: number): Promise<string> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fs-chaos-cli-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'reconcile', ...(repair ? ['--repair'] : [])], {
    cwd: ROOT,
    env: { ...process.env, ...env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited ${code} first`)));
  const timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
  const ending = await exited;
  clearTimeout(timer);
  rmSync(dataDir, { recursive: true, force: true });
  return ending;
}

export class FaultInjector {
  faults: Fault[] = [];

  constructor(
    private readonly world: World,
    private readonly random: Random,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Ports of the cluster nodes that are masters now (roles change with failovers). */
  private async roles(): Promise<{ masters: number[]; replicas: number[]; masterOf: Map<number, number> }> {
    const masters: number[] = [];
    const replicas: number[] = [];
    const masterOf = new Map<number, number>();
    for (const { port } of this.world.redisCluster!.nodes) {
      try {
        const role = (await askNode(port, ['ROLE'], 2000)) as [string, string, number];
        (role[0] === 'master' ? masters : replicas).push(port);
        if (role[0] === 'slave') masterOf.set(port, Number(role[2]));
      } catch {
        // down
      }
    }
    return { masters, replicas, masterOf };
  }

  /**
   * Waits (at most 20 s) until a replica is in sync and its AOF holds what it has: no rewrite in
   * progress or scheduled. A replica rewrites its AOF after each full sync, and killed -9 before
   * that rewrite ends it comes back from the AOF it had before the sync, lacking writes it
   * confirmed to WAIT (Redis 7.0 has no WAITAOF: WAIT promises the replicas' memory). Promoting
   * it would lose acknowledged writes outside what REDIS_WAIT_REPLICAS promises; this fault is
   * about the writes the master made while the replica was down.
   */
  private async untilOnDisk(replica: number): Promise<void> {
    const settled = async () => {
      const info = String(await askNode(replica, ['INFO'], 2000).catch(() => ''));
      return /master_link_status:up/.test(info) && /aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info) && /loading:0/.test(info);
    };
    for (const deadline = Date.now() + 20_000; !(await settled()) && Date.now() < deadline; ) await sleep(100);
  }

  private async masterPorts(): Promise<number[]> {
    return this.world.redisCluster ? (await this.roles()).masters : [this.world.redis!.port];
  }

  async inject(kind: FaultKind): Promise<Fault> {
    const random = this.random;
    const fault: Fault = { kind, t0: Date.now(), t1: 0, detail: '', dataLoss: false };
    const { engines, postgres } = this.world;
    try {
      switch (kind) {
        case 'engine-kill': {
          const engine = random.pick(engines);
          const downMs = random.int(200, 1500);
          await engine.kill();
          await sleep(downMs);
          await engine.start();
          fault.detail = `engine ${engine.name} kill -9, down ${downMs} ms`;
          break;
        }
        case 'reconciler-killed-mid-pass': {
          const engine = random.pick(engines);
          const afterMs = random.int(5, 150);
          const pass = call(engine, 'POST', '/v1/admin/reconcile', { repair: random.chance(0.5) }, adminHeaders);
          await sleep(afterMs);
          await engine.kill();
          await pass;
          await sleep(random.int(100, 800));
          await engine.start();
          fault.detail = `engine ${engine.name} kill -9 ${afterMs} ms into a reconcile pass`;
          break;
        }
        case 'cli-reconciler-kill': {
          // tsx and the connections take about a second before the pass starts: kill before, during or after it.
          const afterMs = random.int(600, 2500);
          const repair = random.chance(0.5);
          const ending = await killCliPassAfter(this.world.engineEnv, repair, afterMs);
          fault.detail = `npm run reconcile${repair ? ' -- --repair' : ''} kill -9 after ${afterMs} ms (${ending})`;
          break;
        }
        case 'redis-pause': {
          const port = random.pick(await this.masterPorts());
          const ms = random.int(300, 2000);
          await askNode(port, ['CLIENT', 'PAUSE', ms, 'ALL'], 2000);
          await sleep(ms);
          fault.detail = `CLIENT PAUSE ${ms} ms ALL on ${port}`;
          break;
        }
        case 'postgres-kill': {
          const downMs = random.int(300, 3000);
          postgres.kill();
          await sleep(downMs);
          postgres.start();
          fault.detail = `postgres stop -m immediate, down ${downMs} ms`;
          break;
        }
        case 'redis-kill': {
          const downMs = random.int(100, 800);
          if (this.world.redisCluster) {
            const port = random.pick(await this.masterPorts());
            await this.world.redisCluster.kill(port);
            await sleep(downMs);
            await this.world.redisCluster.start(port);
            const stillMaster = (await this.roles()).masters.includes(port);
            // A replica promoted meanwhile (node timeout) may miss the last writes.
            fault.dataLoss = fault.replicaPromoted = !stillMaster;
            fault.detail = `master ${port} kill -9, down ${downMs} ms${stillMaster ? '' : ', its replica was promoted'}`;
          } else {
            await this.world.redis!.kill('SIGKILL');
            await sleep(downMs);
            await this.world.redis!.start();
            fault.detail = `redis kill -9, down ${downMs} ms, restarted on its AOF`;
          }
          break;
        }
        case 'reconcile-race': {
          const passes = await Promise.all(
            Array.from({ length: random.int(2, 4) }, (_, i) => call(engines[i % engines.length], 'POST', '/v1/admin/reconcile', { repair: random.chance(0.5) }, adminHeaders)),
          );
          fault.detail = `concurrent passes answered ${passes.map((p) => p.status).join(',')}`;
          break;
        }
        case 'redis-flush': {
          const ports = await this.masterPorts();
          for (const port of ports) await askNode(port, ['FLUSHALL'], 2000);
          fault.dataLoss = true;
          fault.detail = `FLUSHALL on ${ports.join(',')}`;
          break;
        }
        case 'failover': {
          const { replicas } = await this.roles();
          const port = random.pick(replicas);
          await this.world.redisCluster!.failover(port);
          fault.dataLoss = fault.replicaPromoted = true;
          fault.detail = `CLUSTER FAILOVER on replica ${port}`;
          break;
        }
        case 'forced-failover': {
          // The master dies and an operator promotes its replica at once, before the node timeout would.
          const { replicas, masterOf } = await this.roles();
          const replica = random.pick(replicas);
          const master = masterOf.get(replica)!;
          await this.world.redisCluster!.kill(master);
          fault.dataLoss = fault.replicaPromoted = true;
          await this.world.redisCluster!.failover(replica, 'FORCE');
          await sleep(random.int(100, 1000));
          await this.world.redisCluster!.start(master);
          fault.detail = `master ${master} kill -9, CLUSTER FAILOVER FORCE on its replica ${replica}, old master back as a replica`;
          break;
        }
        case 'stale-replica-failover': {
          // A replica is down for a while, then its master dies and the replica is promoted as it
          // came back: it lacks everything the master wrote meanwhile, which engines that wait for
          // a replica (REDIS_WAIT_REPLICAS=1) never acknowledged.
          const { replicas, masterOf } = await this.roles();
          const replica = random.pick(replicas);
          const master = masterOf.get(replica)!;
          const staleMs = random.int(300, 1500);
          await this.untilOnDisk(replica);
          await this.world.redisCluster!.kill(replica);
          await sleep(staleMs);
          await this.world.redisCluster!.kill(master);
          fault.dataLoss = fault.replicaPromoted = true;
          await this.world.redisCluster!.start(replica);
          await this.world.redisCluster!.failover(replica, 'TAKEOVER');
          await sleep(random.int(100, 1000));
          await this.world.redisCluster!.start(master);
          fault.detail = `replica ${replica} kill -9 for ${staleMs} ms, then its master ${master} kill -9 and CLUSTER FAILOVER TAKEOVER on the replica back from its AOF, old master back as a replica`;
          break;
        }
        case 'reshard': {
          // A routine `redis-cli --cluster reshard` between two masters, under the workload.
          const masters = await this.masterPorts();
          const from = random.pick(masters);
          const to = random.pick(masters.filter((port) => port !== from));
          const slots = random.int(100, 1500);
          const [fromId, toId] = [String(await askNode(from, ['CLUSTER', 'MYID'], 2000)), String(await askNode(to, ['CLUSTER', 'MYID'], 2000))];
          const reshard = ['--cluster', 'reshard', `127.0.0.1:${from}`, '--cluster-from', fromId, '--cluster-to', toId, '--cluster-slots', String(slots), '--cluster-yes'];
          fault.detail = `redis-cli --cluster reshard of ${slots} slots ${from} -> ${to}`;
          try {
            await run('redis-cli', reshard, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
          } catch (error) {
            // A move stopped half-way leaves a slot open: redis-cli closes it, as an operator would.
            await run('redis-cli', ['--cluster', 'fix', `127.0.0.1:${from}`, '--cluster-yes'], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }).catch(() => {});
            throw error;
          }
          break;
        }
        case 'replica-kill': {
          const port = random.pick((await this.roles()).replicas);
          const downMs = random.int(200, 2000);
          await this.world.redisCluster!.kill(port);
          await sleep(downMs);
          await this.world.redisCluster!.start(port);
          fault.detail = `replica ${port} kill -9, down ${downMs} ms`;
          break;
        }
      }
    } catch (error) {
      fault.error = String(error).slice(0, 200);
    }
    fault.t1 = Date.now();
    this.faults.push(fault);
    this.log(`fault ${fault.kind}: ${fault.detail}${fault.error ? ` (error: ${fault.error})` : ''}`);
    return fault;
  }

  /** Injects faults chosen by the seed until `until`, one at a time, with pauses between them; `only` names the kinds drawn (equally often). */
  async run(until: number, only?: readonly FaultKind[], maxFaults = 500) {
    const weights: Record<FaultKind, number> = {
      'engine-kill': 3,
      'reconciler-killed-mid-pass': 2,
      'cli-reconciler-kill': 1,
      'redis-pause': 3,
      'postgres-kill': 2,
      'redis-kill': 3,
      'reconcile-race': 2,
      'redis-flush': 1,
      failover: this.world.cluster ? 2 : 0,
      'forced-failover': this.world.cluster ? 1 : 0,
      // Named with --faults only: the campaign for REDIS_WAIT_REPLICAS (docs/reliability.md#durable-acknowledgements).
      'stale-replica-failover': 0,
      'replica-kill': this.world.cluster ? 1 : 0,
      reshard: this.world.cluster ? 2 : 0,
    };
    if (only) for (const kind of FAULT_KINDS) weights[kind] = only.includes(kind) ? 1 : 0;
    for (let i = 0; i < maxFaults; i++) {
      await sleep(this.random.int(1000, 3000));
      if (Date.now() >= until) break;
      await this.inject(this.random.weighted(weights));
    }
  }

  /** Brings every server back (in case a fault failed half-way). */
  async heal() {
    for (const engine of this.world.engines) if (!engine.running()) await engine.start().catch((e) => this.log(`heal: ${e}`));
    try {
      this.world.postgres.start();
    } catch {
      // already running
    }
    const down = async (port: number) => !(await askNode(port, ['PING'], 2000).catch(() => false));
    if (this.world.redis && (await down(this.world.redis.port))) await this.world.redis.start();
    for (const { port } of this.world.redisCluster?.nodes ?? []) {
      if (await down(port)) await this.world.redisCluster!.start(port).catch((e) => this.log(`heal: ${e}`));
    }
  }
}

import { askNode } from '../../src/servers/askNode';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from './random';
import { adminHeaders, call } from './workload';
import type { World } from './world';

/** One injected fault: what, when (ms epoch), and whether Redis may have lost acknowledged data by it. */
export interface Fault {
  kind: string;
  t0: number;
  t1: number;
  detail: string;
  /** Redis may have lost acknowledged writes here (emptied, or a replica promoted): losses after it may be "by design". */
  dataLoss: boolean;
  error?: string;
}


export type FaultKind = 'engine-kill' | 'reconciler-killed-mid-pass' | 'redis-pause' | 'postgres-kill' | 'redis-kill' | 'reconcile-race' | 'redis-flush' | 'failover';

export class FaultInjector {
  faults: Fault[] = [];

  constructor(
    private readonly world: World,
    private readonly random: Random,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Ports of the cluster nodes that are masters now (roles change with failovers). */
  private async roles(): Promise<{ masters: number[]; replicas: number[] }> {
    const masters: number[] = [];
    const replicas: number[] = [];
    for (const { port } of this.world.redisCluster!.nodes) {
      try {
        const role = ((await askNode(port, ['ROLE'], 2000)) as [string])[0];
        (role === 'master' ? masters : replicas).push(port);
      } catch {
        // down
      }
    }
    return { masters, replicas };
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
            fault.dataLoss = !stillMaster;
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
          fault.dataLoss = true;
          fault.detail = `CLUSTER FAILOVER on replica ${port}`;
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

  /** Injects faults chosen by the seed until `until`, one at a time, with pauses between them. */
  async run(until: number, maxFaults = 500) {
    const weights: Record<FaultKind, number> = {
      'engine-kill': 3,
      'reconciler-killed-mid-pass': 2,
      'redis-pause': 3,
      'postgres-kill': 2,
      'redis-kill': 3,
      'reconcile-race': 2,
      'redis-flush': 1,
      failover: this.world.cluster ? 2 : 0,
    };
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
    if (this.world.redis && !(await askNode(this.world.redis.port, ['PING'], 2000).catch(() => false))) await this.world.redis.start();
  }
}

import { askNode } from './askNode';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { redisCliBinary, redisServerBinary } from '../src/servers/binaries';
import { freePort } from './freePort';
import { redisAnswers } from '../src/servers/readiness';
import { type ServerProcess, startServerProcess } from '../src/servers/serverProcess';

const HOST = '127.0.0.1';
const SLOTS = 16384;

/** A Redis Cluster of its own on loopback ports, for tests, the bench and chaos runs; its files are deleted on stop. */
export interface ThrowawayRedisCluster {
  /** Every node, the masters first (roles as created: a failover changes them). */
  nodes: { host: string; port: number }[];
  /** `127.0.0.1:p1,127.0.0.1:p2,…`: the REDIS_CLUSTER_NODES format. */
  nodesList: string;
  /** Ports of the masters, in slot order, and of each replica with its master's, as created. */
  masters: number[];
  replicas: { port: number; masterPort: number }[];
  dir: string;
  /** Kills one node with the given signal (default SIGKILL) and waits for it to exit. */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a node again on its port and its nodes-<port>.conf; resolves once it has rejoined (cluster_state:ok). */
  start(port: number): Promise<void>;
  /** SIGSTOP / SIGCONT one node: a node that hangs without closing its connections. */
  pause(port: number): void;
  resume(port: number): void;
  /** Port of the master serving `slot`, as the first running node that answers sees it. */
  masterOf(slot: number): Promise<number>;
  /** CLUSTER FAILOVER on a replica (FORCE when its master is down) and waits until it is a master. */
  failover(replicaPort: number, mode?: 'FORCE' | 'TAKEOVER'): Promise<void>;
  stop(): Promise<void>;
}

export interface ThrowawayRedisClusterOptions {
  /** Number of masters (default 3, at least 3 for `redis-cli --cluster create`). */
  masters?: number;
  /** Replicas per master (default 0). */
  replicasPerMaster?: number;
  /** cluster-node-timeout: how long a node may be silent before it counts as failing (default 2000 ms). */
  nodeTimeoutMs?: number;
  /** AOF with fsync on every write, as in throwawayRedis (default off: no persistence). */
  appendonly?: boolean;
  /** How long creating the cluster may take in all (default 30 s). */
  startTimeoutMs?: number;
}


/** Polls `probe` every 100 ms until it returns something other than undefined, or throws after `deadline`. */
async function until<T>(what: string, deadline: number, probe: () => Promise<T | undefined>): Promise<T> {
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`Redis Cluster: ${what} did not happen in time${lastError ? ` (last error: ${lastError})` : ''}`);
    await sleep(100);
  }
}

const infoField = (info: string, field: string) => new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();

/** CLUSTER NODES: a line `<id> <ip:port@bus> <flags> <master id|-> <ping> <pong> <epoch> <link> <slot ranges…>` per node. */
function parseNodes(text: string) {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , , slots] = line.split(' ');
      return {
        id,
        port: Number(address.split('@')[0].split(':').pop()),
        replica: flags.split(',').includes('slave'),
        masterId,
        firstSlot: slots ? Number(slots.split('-')[0]) : SLOTS,
      };
    });
}

/** `count` distinct free loopback ports. */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Starts the nodes, creates the cluster with `redis-cli --cluster create` and waits until every
 * node sees all 16384 slots served (`cluster_state:ok`) and every replica is in sync. Any failure
 * kills what was started. Nodes run with cluster-require-full-coverage off, so a dead master
 * takes only its own slots down.
 */
export async function startThrowawayRedisCluster(options: ThrowawayRedisClusterOptions = {}): Promise<ThrowawayRedisCluster> {
  const { masters: masterCount = 3, replicasPerMaster: replicaCount = 0, nodeTimeoutMs = 2000, appendonly = false, startTimeoutMs = 30_000 } = options;
  const deadline = Date.now() + startTimeoutMs;
  const total = masterCount * (1 + replicaCount);
  // The cluster bus needs a port of its own (by default port + 10000, which may be taken or above 65535).
  const allPorts = await distinctFreePorts(2 * total);
  const ports = allPorts.slice(0, total);
  const busPort = new Map(ports.map((port, i) => [port, allPorts[total + i]]));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fs-test-redis-cluster-'));
  const servers = new Map<number, ServerProcess>();
  const paused = new Set<number>();

  const launch = async (port: number) => {
    const dataDir = path.join(dir, String(port));
    mkdirSync(dataDir, { recursive: true });
    servers.set(
      port,
      await startServerProcess({
        name: `redis-server (cluster node) on port ${port}`,
        command: redisServerBinary(),
        args: [
          '--port', String(port), '--cluster-port', String(busPort.get(port)), '--bind', HOST, '--dir', dataDir,
          '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', String(nodeTimeoutMs), '--cluster-require-full-coverage', 'no',
          '--repl-diskless-sync-delay', '0', '--save', '', '--appendonly', appendonly ? 'yes' : 'no', '--appendfsync', 'always', '--loglevel', 'warning',
        ],
        ready: () => redisAnswers({ port, host: HOST }),
      }),
    );
  };
  // A restarted node answers CLUSTERDOWN until it has rejoined: wait for that too.
  const start = async (port: number) => {
    await launch(port);
    await until(`node ${port} rejoining`, Date.now() + 15_000, async () =>
      infoField(String(await askNode(port, ['CLUSTER', 'INFO'])), 'cluster_state') === 'ok' ? true : undefined,
    );
  };
  const kill = async (port: number, signal: NodeJS.Signals = 'SIGKILL') => {
    paused.delete(port);
    await servers.get(port)?.stop({ signal });
  };
  const stop = async () => {
    // SIGKILL ends a paused node too.
    await Promise.all(ports.map((port) => kill(port)));
    rmSync(dir, { recursive: true, force: true });
  };
  const running = () => ports.filter((port) => !paused.has(port));

  try {
    // Settle every launch before giving up, so that stop() finds every node that did start.
    const failed = (await Promise.allSettled(ports.map(launch))).find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    await promisify(execFile)(
      redisCliBinary(),
      ['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', String(replicaCount), '--cluster-yes'],
      { timeout: Math.max(deadline - Date.now(), 1000) },
    );
    await Promise.all(
      ports.map((port) =>
        until(`node ${port} agreeing on the cluster`, deadline, async () => {
          const info = String(await askNode(port, ['CLUSTER', 'INFO']));
          const agreed =
            infoField(info, 'cluster_state') === 'ok' &&
            infoField(info, 'cluster_slots_ok') === String(SLOTS) &&
            infoField(info, 'cluster_known_nodes') === String(total);
          // Replica roles travel by gossip: until this node has heard of all, it lists them as masters.
          const replicasSeen = parseNodes(String(await askNode(port, ['CLUSTER', 'NODES']))).filter((node) => node.replica).length;
          if (!agreed || replicasSeen !== total - masterCount) return undefined;
          const replication = String(await askNode(port, ['INFO', 'replication']));
          return infoField(replication, 'role') === 'master' || infoField(replication, 'master_link_status') === 'up' ? true : undefined;
        }),
      ),
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const topology = parseNodes(String(await askNode(ports[0], ['CLUSTER', 'NODES'])));
  const portOf = new Map(topology.map((node) => [node.id, node.port]));
  const masters = topology
    .filter((node) => !node.replica)
    .sort((a, b) => a.firstSlot - b.firstSlot)
    .map((node) => node.port);
  const replicas = topology.filter((node) => node.replica).map((node) => ({ port: node.port, masterPort: portOf.get(node.masterId)! }));
  const nodes = [...masters, ...replicas.map((replica) => replica.port)].map((port) => ({ host: HOST, port }));

  return {
    nodes,
    nodesList: nodes.map(({ host, port }) => `${host}:${port}`).join(','),
    masters,
    replicas,
    dir,
    kill,
    start,
    pause(port) {
      paused.add(port);
      servers.get(port)?.signal('SIGSTOP');
    },
    resume(port) {
      paused.delete(port);
      servers.get(port)?.signal('SIGCONT');
    },
    async masterOf(slot) {
      let lastError: unknown = new Error('no node is running');
      for (const port of running()) {
        try {
          const ranges = (await askNode(port, ['CLUSTER', 'SLOTS'])) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
          const range = ranges.find(([from, to]) => from <= slot && slot <= to);
          if (range) return Number(range[2][1]);
          lastError = new Error(`node ${port} knows no master for slot ${slot}`);
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    },
    async failover(replicaPort, mode) {
      await askNode(replicaPort, ['CLUSTER', 'FAILOVER', ...(mode ? [mode] : [])]);
      await until(`failover to ${replicaPort}`, Date.now() + 15_000, async () =>
        ((await askNode(replicaPort, ['ROLE'])) as [string])[0] === 'master' ? true : undefined,
      );
    },
    stop,
  };
}

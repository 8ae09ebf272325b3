/**
 * CPU time per request, per process, read from the operating system: user + system time of each
 * process of a run (every thread of it; the threads the engine names listed apart) before and
 * after the measured load, divided by the requests answered. On a shared machine that is a
 * steadier figure than requests per second, and it is what the `scale` scenario's model is built
 * from.
 *
 * Linux: /proc/<pid>/stat (utime + stime, in clock ticks of 1/CLK_TCK s: 10 ms, so a run of a few
 * seconds reads to well under a microsecond per request). Elsewhere: `ps -o time=` (centiseconds
 * on macOS). The load generator is this process: process.cpuUsage(), in microseconds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { engineThreadLabel } from '../../src/process/threadName';

/** What a process is to the request: the stages the report and the model add up. */
export type Stage = 'load generator' | 'engine' | 'redis' | 'postgres';
export const STAGES: Stage[] = ['load generator', 'engine', 'redis', 'postgres'];

/** One process (or several summed under one name) of one reading. */
export interface ProcessCpu {
  stage: Stage;
  name: string;
  pids: number[];
  /** CPU time spent during the run, ms. */
  cpuMs: number;
  /** cpuMs per request (per `per`), in µs. */
  us: number;
  /** CPU time / wall time: how many cores it kept busy on average. */
  cores: number;
}

/** The CPU time of one measured run, per process and per stage. */
export interface CpuReading {
  /** What the µs are per: 'request' for HTTP runs; other readings name theirs (e.g. 'event'). */
  per: string;
  count: number;
  seconds: number;
  processes: ProcessCpu[];
  /** µs per `per` of each stage (its processes summed); the stages absent from the run are left out. */
  stages: Partial<Record<Stage, number>>;
  /** µs per `per`, every process. */
  totalUs: number;
  /** How the time was read: 'proc' (/proc/<pid>/stat), 'ps', or 'unavailable'. */
  source: string;
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime in ms. */
  cpuMs: number;
  /** Start time, in ticks since boot (orders siblings: the first worker forked first). */
  started: number;
}

const HAS_PROC = existsSync('/proc/self/stat');
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * /proc/<pid>/stat: `pid (comm) state ppid … utime(14) stime(15) … starttime(22)`; comm may hold
 * spaces and parentheses. A thread's, /proc/<pid>/task/<tid>/stat, reads the same.
 */
function readProcStat(pid: number, file = `/proc/${pid}/stat`): ProcessInfo | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state).
  return {
    pid,
    ppid: Number(fields[1]),
    comm: text.slice(open + 1, close),
    cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS,
    started: Number(fields[19]),
  };
}

/** `[[dd-]hh:]mm:ss[.cc]` as ps prints cumulative CPU time. */
function psTimeMs(text: string): number {
  const [days, rest] = text.includes('-') ? [Number(text.split('-')[0]), text.split('-')[1]] : [0, text];
  const seconds = rest.split(':').reduce((total, part) => total * 60 + Number(part), 0);
  return (days * 86_400 + seconds) * 1000;
}

/** The threads of a process that the engine named (src/process/threadName.ts), each with its CPU time; none without /proc. */
function namedThreads(pid: number): { tid: number; label: string; cpuMs: number }[] {
  let tids: string[];
  try {
    tids = HAS_PROC ? readdirSync(`/proc/${pid}/task`) : [];
  } catch {
    return [];
  }
  return tids.flatMap((tid) => {
    const info = readProcStat(Number(tid), `/proc/${pid}/task/${tid}/stat`);
    const label = info && engineThreadLabel(info.comm);
    return info && label ? [{ tid: info.pid, label, cpuMs: info.cpuMs }] : [];
  });
}

/** Every process of the machine, as one snapshot. */
function allProcesses(): ProcessInfo[] {
  if (HAS_PROC) {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .flatMap((name) => readProcStat(Number(name)) ?? []);
  }
  try {
    const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,time=,comm='], { encoding: 'utf8' });
    return out
      .trim()
      .split('\n')
      .map((line, n) => {
        const [pid, ppid, time, ...comm] = line.trim().split(/\s+/);
        return { pid: Number(pid), ppid: Number(ppid), comm: comm.join(' ').split('/').pop()!, cpuMs: psTimeMs(time), started: n };
      });
  } catch {
    return [];
  }
}

/** A process whose CPU time a run reads. */
export type CpuTarget =
  /** This process: the load generator (or, with a stage and name, whatever it runs itself, e.g. a drain). */
  | { kind: 'self'; stage?: Stage; name?: string }
  /** One process under a name, e.g. a redis-server found by its INFO process_id. */
  | { kind: 'process'; pid: number; stage: Stage; name: string }
  /**
   * A server and every process below it, looked up at each reading (workers forked after the
   * start are found). `node` processes below the root are its workers, `redis-server` ones its
   * engine-owned Redis, `postgres` ones its backends; anything else is counted with the root.
   * With `sumAs`, the whole tree is one entry of that name (a Postgres server and its backends).
   */
  | { kind: 'tree'; pid: number; stage: Stage; name: string; sumAs?: boolean };

interface Entry {
  stage: Stage;
  name: string;
  pids: number[];
  cpuMs: number;
}

/** The CPU time of each watched process, as of now. */
export type CpuSnapshot = Map<string, Entry>;

function add(snapshot: CpuSnapshot, key: string, stage: Stage, name: string, info: { pid: number; cpuMs: number }) {
  const entry = snapshot.get(key) ?? { stage, name, pids: [], cpuMs: 0 };
  entry.pids.push(info.pid);
  entry.cpuMs += info.cpuMs;
  snapshot.set(key, entry);
}

/**
 * Lists the engine's named threads of one process apart from it (`engine background thread`:
 * reconciler passes and, on embedded PGlite, Postgres itself), their time taken off the process's
 * entry, which keeps its main thread and the unnamed ones (V8's garbage collection, libuv).
 */
function splitNamedThreads(snapshot: CpuSnapshot, key: string, pid: number) {
  const entry = snapshot.get(key);
  if (!entry) return;
  for (const thread of namedThreads(pid)) {
    entry.cpuMs -= thread.cpuMs;
    add(snapshot, `${key}#${thread.label}`, entry.stage, `${entry.name} ${thread.label}`, { pid: thread.tid, cpuMs: thread.cpuMs });
  }
}

function stageOfComm(comm: string, fallback: Stage): Stage {
  if (comm.startsWith('redis-server')) return 'redis';
  if (comm.startsWith('postgres') || comm.startsWith('postmaster')) return 'postgres';
  return fallback;
}

/** Reads the CPU time of a fixed set of processes before and after a measured run. */
export class CpuWatch {
  constructor(private readonly targets: CpuTarget[]) {}

  /** The same watch with more processes. */
  with(...targets: CpuTarget[]): CpuWatch {
    return new CpuWatch([...this.targets, ...targets]);
  }

  snapshot(): CpuSnapshot {
    const snapshot: CpuSnapshot = new Map();
    const needsTable = this.targets.some((t) => t.kind !== 'self');
    const table = needsTable ? allProcesses() : [];
    const byPid = new Map(table.map((info) => [info.pid, info]));
    const children = new Map<number, ProcessInfo[]>();
    for (const info of table) children.set(info.ppid, [...(children.get(info.ppid) ?? []), info]);
    const descendants = (pid: number): ProcessInfo[] => (children.get(pid) ?? []).flatMap((child) => [child, ...descendants(child.pid)]);

    for (const target of this.targets) {
      if (target.kind === 'self') {
        const usage = process.cpuUsage();
        add(snapshot, 'self', target.stage ?? 'load generator', target.name ?? 'load generator (autocannon in the bench process)', { pid: process.pid, cpuMs: (usage.user + usage.system) / 1000 });
        continue;
      }
      const root = byPid.get(target.pid);
      if (!root) continue;
      if (target.kind === 'process') {
        add(snapshot, `${target.name}`, target.stage, target.name, root);
        continue;
      }
      const below = descendants(target.pid);
      if (target.sumAs) {
        for (const info of [root, ...below]) add(snapshot, target.name, target.stage, target.name, info);
        continue;
      }
      const workers = below.filter((info) => info.comm === root.comm && stageOfComm(info.comm, target.stage) === target.stage).sort((a, b) => a.started - b.started || a.pid - b.pid);
      const rootName = workers.length ? `${target.name} primary` : target.name;
      add(snapshot, `${target.name}#root`, target.stage, rootName, root);
      workers.forEach((info, n) => add(snapshot, `${target.name}#worker${n + 1}`, target.stage, `${target.name} worker ${n + 1}`, info));
      const workerKey = new Map(workers.map((info, n) => [info.pid, `${target.name}#worker${n + 1}`]));
      const keyOf = (info: ProcessInfo): string => {
        // Helpers (tsx's esbuild) count with the worker or root above them.
        for (let pid = info.ppid; pid && pid !== target.pid; pid = byPid.get(pid)?.ppid ?? 0) if (workerKey.has(pid)) return workerKey.get(pid)!;
        return `${target.name}#root`;
      };
      splitNamedThreads(snapshot, `${target.name}#root`, root.pid);
      workers.forEach((info, n) => splitNamedThreads(snapshot, `${target.name}#worker${n + 1}`, info.pid));
      for (const info of below) {
        if (workerKey.has(info.pid)) continue;
        const stage = stageOfComm(info.comm, target.stage);
        if (stage !== target.stage) add(snapshot, `${target.name}#${stage}`, stage, `${stage === 'redis' ? 'redis-server' : stage} (${target.name}'s own)`, info);
        else {
          const key = keyOf(info);
          add(snapshot, key, target.stage, snapshot.get(key)?.name ?? rootName, info);
        }
      }
    }
    return snapshot;
  }

  /** CPU spent between two snapshots, per process and stage, per one of `count` (requests, by default). */
  static reading(before: CpuSnapshot, after: CpuSnapshot, count: number, seconds: number, per = 'request'): CpuReading {
    const processes: ProcessCpu[] = [];
    for (const [key, end] of after) {
      const start = before.get(key);
      // A process that started during the run (a replaced worker) counts from zero; one that ended is lost.
      const startPids = new Set(start?.pids ?? []);
      const carried = start && end.pids.every((pid) => startPids.has(pid)) ? start.cpuMs : 0;
      const cpuMs = Math.max(0, end.cpuMs - carried);
      processes.push({ stage: end.stage, name: end.name, pids: end.pids, cpuMs: round(cpuMs, 1), us: round(perUnit(cpuMs, count), 1), cores: round(cpuMs / 1000 / Math.max(seconds, 1e-9), 2) });
    }
    processes.sort((a, b) => STAGES.indexOf(a.stage) - STAGES.indexOf(b.stage));
    return summarize(per, count, seconds, processes);
  }
}

function summarize(per: string, count: number, seconds: number, processes: ProcessCpu[]): CpuReading {
  const stages: Partial<Record<Stage, number>> = {};
  for (const p of processes) stages[p.stage] = round((stages[p.stage] ?? 0) + perUnit(p.cpuMs, count), 1);
  const totalUs = round(processes.reduce((sum, p) => sum + perUnit(p.cpuMs, count), 0), 1);
  return { per, count, seconds: round(seconds, 2), processes, stages, totalUs, source: HAS_PROC ? 'proc' : 'ps' };
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));
const perUnit = (cpuMs: number, count: number) => (count > 0 ? (cpuMs * 1000) / count : 0);

/** Several readings of one load as one: CPU time, counts and seconds summed, per process by name. */
export function combineReadings(readings: CpuReading[]): CpuReading | undefined {
  if (!readings.length) return undefined;
  const count = readings.reduce((sum, r) => sum + r.count, 0);
  const seconds = readings.reduce((sum, r) => sum + r.seconds, 0);
  const byName = new Map<string, ProcessCpu>();
  for (const reading of readings) {
    for (const p of reading.processes) {
      const known = byName.get(p.name);
      if (known) {
        known.cpuMs += p.cpuMs;
        for (const pid of p.pids) if (!known.pids.includes(pid)) known.pids.push(pid);
      } else byName.set(p.name, { ...p, pids: [...p.pids] });
    }
  }
  const processes = [...byName.values()]
    .map((p) => ({ ...p, cpuMs: round(p.cpuMs, 1), us: round(perUnit(p.cpuMs, count), 1), cores: round(p.cpuMs / 1000 / Math.max(seconds, 1e-9), 2) }))
    .sort((a, b) => STAGES.indexOf(a.stage) - STAGES.indexOf(b.stage));
  return summarize(readings[0].per, count, seconds, processes);
}

/** The pid of a redis-server, from its INFO (whoever started it need not say). */
export async function redisPid(client: { info(section: string): Promise<string> }): Promise<number> {
  const info = await client.info('server');
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  if (!pid) throw new Error('INFO server named no process_id');
  return pid;
}

/** The parent of a process (a Postgres backend's is the postmaster). */
export function parentPid(pid: number): number {
  const parent = HAS_PROC ? readProcStat(pid)?.ppid : allProcesses().find((info) => info.pid === pid)?.ppid;
  if (!parent) throw new Error(`no process ${pid}`);
  return parent;
}

/** The Postgres server at `url` and its backends, as one entry: the postmaster is the parent of any backend. */
export async function postgresTarget(url: string): Promise<CpuTarget> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [{ pid }] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    return { kind: 'tree', pid: parentPid(pid), stage: 'postgres', name: 'postgres', sumAs: true };
  } finally {
    await sql.end();
  }
}

/** One line for the console: `load generator 31.2 µs, engine 44.0 µs (primary 0.4, worker 1 21.9, …), redis 17.1 µs`. */
export function describeReading(reading: CpuReading): string {
  const parts = STAGES.filter((stage) => reading.stages[stage] !== undefined).map((stage) => {
    const members = reading.processes.filter((p) => p.stage === stage);
    const detail = members.length > 1 ? ` (${members.map((p) => `${shortName(p.name, stage)} ${p.us.toFixed(1)}`).join(', ')})` : '';
    return `${stage} ${reading.stages[stage]!.toFixed(1)}${detail}`;
  });
  return `CPU µs per ${reading.per}: ${parts.join('; ')}; total ${reading.totalUs.toFixed(1)}`;
}

/** A process's name without the stage it is listed under: `engine worker 1` → `worker 1`. */
export function shortName(name: string, stage: Stage): string {
  return name.startsWith(`${stage} `) ? name.slice(stage.length + 1) : name;
}

import cluster, { type Worker } from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { BackgroundThread } from './backgroundThread';
import type { PrimaryMessage, WorkerMessage } from './messages';
import { type RpcAnswer, type RpcCall, serveCall } from './rpc';
import type { Config } from '../config';
import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';
import { clearEngineInfo, writeEngineInfo } from '../engineInfo';
import { EngineMetrics } from '../metrics';
import type { ReconcileRunner } from '../reconciler/runner';
import { scheduleReconciler } from '../reconciler/schedule';
import { type EmbeddedRedis, startEmbeddedRedis } from '../servers/embeddedRedis';
import { processLogger } from './log';
import { WORKER_ENV } from './worker';

type Metric = MetricObjectWithValues<MetricValue<string>>;

/** A worker that died is replaced after 250 ms, doubling while replacements keep dying, up to 30 s. */
const RESTART_DELAY_MS = 250;
const RESTART_DELAY_MAX_MS = 30_000;
/** A worker that served this long before dying counts as healthy: the doubling starts over. */
const HEALTHY_AFTER_MS = 30_000;
/** How long all workers may take to start, and one worker to finish its in-flight requests when stopped. */
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;
/** How long a running cron pass may take to finish when stopping, before the background thread closes under it. */
const CRON_PASS_GRACE_MS = 10_000;
/** How long a /metrics scrape waits for each worker's metrics. */
const COLLECT_TIMEOUT_MS = 2_000;

/** One of the WORKERS places: the worker process in it changes when one dies and is replaced. */
interface Slot {
  n: number;
  worker?: Worker;
  listeningAt?: number;
  /** Deaths in a row without HEALTHY_AFTER_MS of service between them. */
  deaths: number;
  restart?: NodeJS.Timeout;
}

/**
 * `npm start` with WORKERS > 1: the primary process. It owns what only one process may hold and
 * the workers share (the engine-owned redis-server, the embedded Postgres, the background thread
 * that runs reconciler passes), runs the cron schedule, forks the HTTP workers that share the
 * listening port (worker.ts) and answers their calls (database statements, passes,
 * metrics) over IPC. Workers that die are replaced; SIGTERM / SIGINT stops the workers (each
 * finishing its in-flight requests), then these services.
 */
export async function runPrimary(config: Config): Promise<void> {
  const log = processLogger(config.logLevel, { role: 'primary' });
  // The engine-owned redis-server unless a Redis is given; the workers connect to its socket.
  const embedded = config.redisUrl || config.redisClusterNodes ? undefined : await startEmbeddedRedis(config.dataDir);
  const redisUrl = config.redisUrl ?? embedded?.url ?? '';
  let background: BackgroundThread;
  let schedule: ScheduledTask;
  const cron = new CronPasses();
  try {
    background = await BackgroundThread.start(config, redisUrl, log);
    cron.background = background;
    try {
      schedule = scheduleReconciler(cron, config.reconcileCron, log);
    } catch (error) {
      await background.close();
      throw error;
    }
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const primary = new Primary(config, log, background, schedule, cron, embedded);
  process.on('SIGTERM', () => void primary.stop('SIGTERM'));
  process.on('SIGINT', () => void primary.stop('SIGINT'));
  await primary.start();
}

class Primary {
  private readonly slots: Slot[];
  /** Counts every pass (they all run here, whichever worker asked), for the engine-wide /metrics. */
  private readonly metrics = new EngineMetrics(async () => []);
  private readonly collects = new Map<number, (metrics: Metric[]) => void>();
  private nextCollect = 1;
  private stopping = false;
  private starting?: { resolve: () => void; reject: (error: Error) => void };

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly background: BackgroundThread,
    private readonly schedule: ScheduledTask,
    private readonly cron: CronPasses,
    private readonly embedded: EmbeddedRedis | undefined,
  ) {
    this.slots = Array.from({ length: config.workers }, (_, i) => ({ n: i + 1, deaths: 0 }));
    background.observer = this.metrics;
    // Rows cross the IPC channel as they cross between threads (Dates stay Dates).
    cluster.setupPrimary({ serialization: 'advanced' });
  }

  /** Forks every worker and resolves once all listen; a worker dying meanwhile fails the start. */
  async start(): Promise<void> {
    const { config, log } = this;
    const started = new Promise<void>((resolve, reject) => (this.starting = { resolve, reject }));
    const timeout = setTimeout(() => this.starting?.reject(new Error(`the workers did not all listen within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    for (const slot of this.slots) this.fork(slot);
    try {
      await started;
    } catch (error) {
      this.stopping = true;
      await this.stopServices();
      throw error;
    } finally {
      clearTimeout(timeout);
      this.starting = undefined;
    }
    if (this.stopping) return;
    const url = `http://${config.host}:${config.port}`;
    writeEngineInfo(config.dataDir, { pid: process.pid, url, embeddedPostgres: !config.databaseUrl });
    if (!config.adminToken) {
      log.warn('ADMIN_TOKEN is not set: /v1/admin/* answers 401. Start with ADMIN_TOKEN=<secret> to enable it.');
    }
    const redis = config.redisClusterNodes
      ? `Redis Cluster at ${config.redisClusterNodes.map((node) => `${node.host}:${node.port}`).join(',')}`
      : (config.redisUrl ?? `engine-owned redis-server at ${this.embedded!.socketPath}`);
    const postgres = config.databaseUrl ? 'DATABASE_URL, from every worker' : `PGlite in ${config.dataDir}/pglite, in the primary, reached by the workers over IPC`;
    log.info(
      `flash-sale engine listening on ${url} with ${config.workers} worker processes (Redis: ${redis}; Postgres: ${postgres}; ` +
        `reconciler: "${config.reconcileCron}", in the primary; docs: ${url}/docs)`,
    );
  }

  private fork(slot: Slot): void {
    slot.restart = undefined;
    slot.listeningAt = undefined;
    const worker = cluster.fork({ [WORKER_ENV]: String(slot.n) });
    slot.worker = worker;
    worker.on('message', (message: WorkerMessage) => this.onMessage(slot, worker, message));
    worker.on('exit', (code, signal) => this.onExit(slot, worker, code, signal));
    // A send to a worker that just died fails; its exit is handled by onExit.
    worker.on('error', () => {});
  }

  private onMessage(slot: Slot, worker: Worker, message: WorkerMessage): void {
    if (message?.type === 'listening') {
      slot.listeningAt = Date.now();
      // A stop sent while it was still loading its code may have found no listener yet.
      if (this.stopping) return send(worker, { type: 'stop' });
      if (this.starting) {
        if (this.slots.every((s) => s.listeningAt !== undefined)) this.starting.resolve();
      } else {
        this.log.info({ worker: slot.n, workerPid: worker.process.pid }, `worker ${slot.n} (pid ${worker.process.pid}) replaced and serving`);
      }
    } else if (message?.type === 'call') {
      void this.answer(message.call).then((answer) => send(worker, { type: 'answer', answer }));
    } else if (message?.type === 'metrics') {
      this.collects.get(message.id)?.(message.metrics as Metric[]);
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    const pid = worker.process.pid;
    if (this.stopping) return;
    if (this.starting) {
      this.starting.reject(new Error(`worker ${slot.n} (pid ${pid}) exited during start-up (${how}); its output above says why`));
      return;
    }
    const served = slot.listeningAt === undefined ? 0 : Date.now() - slot.listeningAt;
    slot.deaths = served >= HEALTHY_AFTER_MS ? 1 : slot.deaths + 1;
    const delay = Math.min(RESTART_DELAY_MAX_MS, RESTART_DELAY_MS * 2 ** (slot.deaths - 1));
    this.log.error(
      { worker: slot.n, workerPid: pid, code, signal, deathsInARow: slot.deaths },
      `worker ${slot.n} (pid ${pid}) died (${how}); starting a replacement in ${delay} ms`,
    );
    slot.restart = setTimeout(() => this.fork(slot), delay);
  }

  /** Runs a worker's call here: statements and passes on the background thread, or the engine's metrics. */
  private answer(call: RpcCall): Promise<RpcAnswer> {
    return serveCall(call.id, () => {
      switch (call.kind) {
        case 'query':
          return this.background.query(call.sql, call.params, call.method);
        case 'reconcile':
          return this.background.pass(call.trigger, { repair: call.repair });
        case 'moveUnits':
          return this.background.moveUnits(call.source, call.target, call.qty, call.location);
        case 'recordFacts':
          return this.background.recordFactsAhead(call.partition, call.entryId, call.epochRead);
        case 'metrics':
          return this.engineMetrics();
      }
    });
  }

  /**
   * The whole engine's metrics: every serving worker's (counters summed, per-SKU gauges read once)
   * and this process's (reconciler passes, its own CPU and memory). A worker that does not answer
   * within COLLECT_TIMEOUT_MS is left out of this scrape.
   */
  private async engineMetrics(): Promise<string> {
    const id = this.nextCollect++;
    const workers = this.slots.flatMap((slot) => (slot.worker && slot.listeningAt !== undefined ? [slot.worker] : []));
    const replies = new Promise<Metric[][]>((resolve) => {
      const got: Metric[][] = [];
      const done = () => {
        clearTimeout(timer);
        this.collects.delete(id);
        resolve(got);
      };
      const timer = setTimeout(done, COLLECT_TIMEOUT_MS);
      this.collects.set(id, (metrics) => {
        got.push(metrics);
        if (got.length === workers.length) done();
      });
      if (!workers.length) done();
    });
    for (const worker of workers) send(worker, { type: 'collect', id });
    const all = [await this.metrics.registry.getMetricsAsJSON(), ...(await replies)];
    return AggregatorRegistry.aggregate(all).metrics();
  }

  /** SIGTERM / SIGINT: the workers finish their in-flight requests and exit, then the shared services stop. */
  async stop(signal: string): Promise<void> {
    // A terminal's Ctrl-C may deliver SIGINT twice (to the engine and to npm): stop once.
    if (this.stopping) return;
    this.stopping = true;
    this.log.info(`${signal}: stopping the workers (each finishes its in-flight requests), then the primary's services`);
    this.starting?.resolve();
    await this.stopServices();
    clearEngineInfo(this.config.dataDir, process.pid);
    this.log.info('stopped');
    process.exit(0);
  }

  private async stopServices(): Promise<void> {
    for (const slot of this.slots) clearTimeout(slot.restart);
    await this.schedule.stop();
    await Promise.all(this.slots.map((slot) => this.stopWorker(slot)));
    // Only now: a worker finishing a request may still have needed Postgres or a pass. A cron pass
    // still running is let finish (a drain cut short is safe, but would be logged as failed).
    await Promise.race([this.cron.running, sleep(CRON_PASS_GRACE_MS)]);
    await this.background.close();
    await this.embedded?.stop();
  }

  private async stopWorker(slot: Slot): Promise<void> {
    const worker = slot.worker;
    if (!worker || worker.isDead()) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    send(worker, { type: 'stop' });
    const kill = setTimeout(() => {
      this.log.warn(`worker ${slot.n} (pid ${worker.process.pid}) did not stop within ${STOP_GRACE_MS / 1000} s: killing it`);
      worker.process.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await exited;
    clearTimeout(kill);
  }
}

/** The schedule's passes, on the background thread; remembers the one running. */
class CronPasses implements Pick<ReconcileRunner, 'run'> {
  background?: BackgroundThread;
  running: Promise<unknown> = Promise.resolve();

  run(trigger: ReconcileTrigger, options?: { repair?: boolean }): Promise<ReconcileReport> {
    const pass = this.background!.run(trigger, options);
    this.running = pass.catch(() => {});
    return pass;
  }
}

function send(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message, undefined, () => {});
}

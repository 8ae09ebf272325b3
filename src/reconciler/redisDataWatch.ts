import type { Database } from '../db/client';
import { RedisDataLostError } from '../domain/errors';
import type { StockMaintenance } from '../redis/stockMaintenance';
import { type RestoreResult, restoreFromPostgres } from './coldStart';
import { awaitDrainsInFlight } from './drainFence';

export interface WatchLog {
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Notices, without an operator, that Redis lost its data under a running engine (a restart
 * without persistence, a failover to an empty replica, FLUSHALL): a partition's data marker is
 * gone. The engine then answers 503 for that partition while it rebuilds from Postgres what
 * Postgres knows of it (SKUs, pending holds, per-user counts, Idempotency-Key bindings), and
 * serves it again once done; the other partitions keep serving.
 *
 * It also begins each partition's new shard epoch (src/domain/changeMark.ts): before a rebuild, and
 * when the master serving a partition is not the one its epoch began on (a failover promoted a
 * replica, which may have missed the last writes: its versions rewound), so Postgres takes the
 * next change of every SKU whatever its version.
 */
/** Start-up restores tried before giving up while Redis keeps losing its data under them. */
const MAX_START_UP_REBUILDS = 5;

export class RedisDataWatch {
  /** Partitions being rebuilt. */
  private readonly rebuilding = new Set<number>();
  private checking?: Promise<void>;
  private checkingMasters?: Promise<void>;
  private timer?: NodeJS.Timeout;
  /** Where rebuilds are reported (the app's log, once the app is built). */
  log: WatchLog = { warn: () => {}, error: () => {} };

  constructor(
    private readonly maintenance: StockMaintenance,
    private readonly db: Database,
  ) {}

  /**
   * At start-up, before traffic: restores what Redis lacks (in partitions whose marker is missing,
   * everything, bindings included; elsewhere only the SKUs it lost), then marks every partition
   * as holding the data.
   */
  async startUp(): Promise<RestoreResult> {
    await this.maintenance.adoptPartitionCount();
    for (let attempt = 1; ; attempt++) {
      const { partitions } = this.maintenance;
      const tokens = await Promise.all(partitions.map((partition) => this.maintenance.beginRebuild(partition)));
      const lost = await this.lostPartitions();
      for (const partition of partitions) await this.maintenance.startEpoch(partition, lost.has(partition) ? 'rebuild' : 'ensure');
      await awaitDrainsInFlight(this.db, lost);
      const guard = this.maintenance.restoreGuard(new Map(partitions.map((partition, n) => [partition, tokens[n]])));
      const restored = await restoreFromPostgres(this.maintenance, this.db, { bindingsOf: lost, guard });
      const marked = await Promise.all(partitions.map((partition, n) => this.maintenance.finishRebuild(partition, tokens[n])));
      if (marked.every(Boolean)) return restored;
      // Redis lost data again while it was restored: what was restored before that is gone too.
      if (attempt === MAX_START_UP_REBUILDS) throw new RedisDataLostError();
      this.log.warn('Redis lost its data again while it was being restored at start-up: restoring again');
    }
  }

  /** Checks the marker, and each partition's master, every `intervalMs` from now on. */
  watch(intervalMs = 1000): void {
    this.timer ??= setInterval(() => {
      void this.check();
      void this.checkMasters();
    }, intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Throws 503 while any partition waits for its rebuild (readiness): its part of the engine cannot serve. */
  assertServing(): void {
    if (this.rebuilding.size || this.maintenance.markedLost().length) throw new RedisDataLostError();
  }

  /** Partitions whose data marker is gone. */
  private async lostPartitions(): Promise<Set<number>> {
    const { partitions } = this.maintenance;
    const present = await Promise.all(partitions.map((partition) => this.maintenance.hasDataMarker(partition)));
    return new Set(partitions.filter((_, n) => !present[n]));
  }

  /** One check of the marker, and a rebuild when it is gone (one at a time). */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /**
   * Begins a new epoch in each partition (but those being rebuilt, which begin their own) whose
   * master changed; one check at a time, apart from the marker's so as not to slow that one.
   */
  checkMasters(): Promise<void> {
    this.checkingMasters ??= this.checkMastersOnce().finally(() => (this.checkingMasters = undefined));
    return this.checkingMasters;
  }

  private async checkMastersOnce(): Promise<void> {
    const partitions = this.maintenance.partitions.filter((partition) => !this.rebuilding.has(partition));
    // A master unreachable (a failover under way) is checked again next tick.
    const epochs = await Promise.all(partitions.map((partition) => this.maintenance.startEpoch(partition, 'ensure').catch(() => null)));
    const begun = epochs.flatMap((epoch, n) => (epoch?.begun ? [`${partitions[n]} (epoch ${epoch.epoch}, master ${epoch.replid})`] : []));
    if (begun.length) this.log.warn(`Redis partitions began a new shard epoch (their master changed, or none had begun): ${begun.join(', ')}`);
  }

  private async checkOnce(): Promise<void> {
    let lost: Set<number>;
    try {
      lost = await this.lostPartitions();
    } catch {
      return; // Redis unreachable: answered 503 per request; checked again next tick.
    }
    // A partition a request found lost, whose marker is back: another engine rebuilt it.
    for (const partition of this.maintenance.markedLost()) {
      if (!lost.has(partition) && !this.rebuilding.has(partition)) this.maintenance.markServing(partition);
    }
    if (!lost.size) return;
    const fresh = [...lost].filter((partition) => !this.rebuilding.has(partition));
    for (const partition of lost) {
      this.maintenance.markLost(partition);
      this.rebuilding.add(partition);
    }
    if (fresh.length) {
      this.log.warn(`Redis lost the data of partitions ${fresh.join(', ')} (their data marker is gone): answering 503 for them while rebuilding from Postgres`);
    }
    try {
      await this.maintenance.adoptPartitionCount();
      const tokens = new Map<number, string>();
      for (const partition of lost) tokens.set(partition, await this.maintenance.beginRebuild(partition));
      for (const partition of lost) await this.maintenance.startEpoch(partition, 'rebuild');
      // A drain writing what it read from the lost data finishes first (drainFence.ts).
      await awaitDrainsInFlight(this.db, lost);
      const guard = this.maintenance.restoreGuard(tokens);
      const restored = await restoreFromPostgres(this.maintenance, this.db, { partitions: lost, bindingsOf: lost, guard });
      const lostAgain: number[] = [];
      for (const [partition, token] of tokens) {
        if (!(await this.maintenance.finishRebuild(partition, token))) lostAgain.push(partition);
        this.rebuilding.delete(partition);
      }
      // Redis lost the data again while it was restored: what was restored before that is gone
      // too, so those partitions stay without their marker (503), and the next check rebuilds them.
      if (lostAgain.length) this.log.warn(`Redis lost the data of partitions ${lostAgain.join(', ')} again while they were rebuilt: rebuilding them again`);
      else
        this.log.warn(
          `Redis rebuilt from Postgres: ${restored.skus} SKUs, ${restored.holds} pending holds, ${restored.bindings} idempotency keys; serving again`,
        );
    } catch (error) {
      // Still marked lost (503), but no longer rebuilding: the next check rebuilds again, or, when
      // another engine has rebuilt the data meanwhile (its marker is back), serves again.
      for (const partition of lost) this.rebuilding.delete(partition);
      this.log.error(`rebuilding Redis from Postgres failed, retrying: ${(error as Error).message}`);
    }
  }
}

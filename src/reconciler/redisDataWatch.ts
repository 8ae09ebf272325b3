import type { Database } from '../db/client';
import { RedisDataLostError } from '../domain/errors';
import type { StockMaintenance } from '../redis/stockMaintenance';
import { type RestoreResult, restoreFromPostgres } from './coldStart';

export interface WatchLog {
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Notices, without an operator, that Redis lost its data under a running engine (a restart
 * without persistence, a failover to an empty replica, FLUSHALL): its data marker is gone. The
 * engine then answers 503 (assertServing) while it rebuilds from Postgres what Postgres knows
 * (SKUs, pending holds, per-user counts, Idempotency-Key bindings), and serves again once done.
 */
export class RedisDataWatch {
  private rebuilding = false;
  private checking?: Promise<void>;
  private timer?: NodeJS.Timeout;
  /** Where rebuilds are reported (the app's log, once the app is built). */
  log: WatchLog = { warn: () => {}, error: () => {} };

  constructor(
    private readonly maintenance: StockMaintenance,
    private readonly db: Database,
  ) {}

  /**
   * At start-up, before traffic: restores what Redis lacks (everything, bindings included, when
   * its marker is missing; else only the SKUs it lost), then marks Redis as holding the data.
   */
  async startUp(): Promise<RestoreResult> {
    const lost = !(await this.maintenance.hasDataMarker());
    const restored = await restoreFromPostgres(this.maintenance, this.db, { bindings: lost });
    await this.maintenance.writeDataMarker();
    return restored;
  }

  /** Checks the marker every `intervalMs` from now on. */
  watch(intervalMs = 1000): void {
    this.timer ??= setInterval(() => void this.check(), intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Throws 503 while Redis is being rebuilt: nothing it answers meanwhile could be trusted. */
  assertServing(): void {
    if (this.rebuilding) throw new RedisDataLostError();
  }

  /** One check of the marker, and a rebuild when it is gone (one at a time). */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    try {
      if (await this.maintenance.hasDataMarker()) return;
    } catch {
      return; // Redis unreachable: answered 503 per request; checked again next tick.
    }
    if (!this.rebuilding) {
      this.rebuilding = true;
      this.log.warn('Redis lost its data (its data marker is gone): answering 503 while rebuilding it from Postgres');
    }
    try {
      const restored = await restoreFromPostgres(this.maintenance, this.db, { bindings: true });
      await this.maintenance.writeDataMarker();
      this.rebuilding = false;
      this.log.warn(
        `Redis rebuilt from Postgres: ${restored.skus} SKUs, ${restored.holds} pending holds, ${restored.bindings} idempotency keys; serving again`,
      );
    } catch (error) {
      this.log.error(`rebuilding Redis from Postgres failed, retrying: ${(error as Error).message}`);
    }
  }
}

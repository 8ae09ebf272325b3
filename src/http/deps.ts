import type { Config } from '../config';
import type { Database } from '../db/client';
import type { EngineMetrics } from '../metrics';
import type { RedisDataWatch } from '../reconciler/redisDataWatch';
import type { Reservations } from '../reconciler/reservations';
import type { ReconcileRunner } from '../reconciler/runner';
import type { StockEngine } from '../redis/stockEngine';
import type { StockMaintenance } from '../redis/stockMaintenance';

/** What the routes need, handed in by whoever builds the app (the engine, or a test). */
export interface AppDeps {
  config: Config;
  engine: StockEngine;
  maintenance: StockMaintenance;
  /** Reservation reads and finishes, falling back to Postgres once Redis no longer keeps them. */
  reservations: Reservations;
  db: Database;
  metrics: EngineMetrics;
  reconciler: ReconcileRunner;
  /** Notices Redis losing its data; routes answer 503 while it is rebuilt. */
  dataWatch: RedisDataWatch;
  /** Resolves when Redis, Postgres and the scripts are usable; rejects with the reason otherwise. */
  checkReady: () => Promise<void>;
}

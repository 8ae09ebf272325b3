import type { Config } from '../config';
import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';

/** What the main thread hands the background thread when starting it. */
export interface BackgroundInit {
  config: Config;
  /** The Redis the engine uses (the engine-owned server's socket, or REDIS_URL). */
  redisUrl: string;
}

export type Request =
  | { id: number; kind: 'query'; sql: string; params: unknown[]; method: 'all' | 'execute' }
  | { id: number; kind: 'reconcile'; trigger: ReconcileTrigger; repair: boolean };

export type Response =
  | { id: number; ok: true; rows?: unknown[]; report?: ReconcileReport; expiriesDrained?: number }
  | { id: number; ok: false; error: { message: string; code?: string } };

/**
 * Between the primary process and its workers (WORKERS > 1), over the cluster IPC channel
 * (advanced serialization, so rows keep their Dates as they do between threads).
 * A worker's call is a thread Request the primary hands to its background thread, or `metrics`.
 */
export type RelayCall = Request | { id: number; kind: 'metrics' };

export type RelayAnswer = Response | { id: number; ok: true; text: string };

/** What a worker sends the primary. */
export type WorkerMessage =
  | { type: 'listening' }
  | { type: 'call'; call: RelayCall }
  /** This worker's metrics, for the primary's `collect` number `id`. */
  | { type: 'metrics'; id: number; metrics: unknown[] };

/** What the primary sends a worker. */
export type PrimaryMessage =
  | { type: 'answer'; answer: RelayAnswer }
  | { type: 'collect'; id: number }
  /** Stop taking connections, finish the requests in flight, then exit. */
  | { type: 'stop' };

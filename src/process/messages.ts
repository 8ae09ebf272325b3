import type { Config } from '../config';
import type { RpcAnswer, RpcCall } from './rpc';

/** What the main thread hands the background thread when starting it. */
export interface BackgroundInit {
  config: Config;
  /** The Redis the engine uses (the engine-owned server's socket, or REDIS_URL). */
  redisUrl: string;
}

/**
 * Between the primary process and its workers (WORKERS > 1), over the cluster IPC channel
 * (advanced serialization, so rows keep their Dates as they do between threads).
 */
export type WorkerMessage =
  | { type: 'listening' }
  | { type: 'call'; call: RpcCall }
  /** This worker's metrics, for the primary's `collect` number `id`. */
  | { type: 'metrics'; id: number; metrics: unknown[] };

/** What the primary sends a worker. */
export type PrimaryMessage =
  | { type: 'answer'; answer: RpcAnswer }
  | { type: 'collect'; id: number }
  /** Stop taking connections, finish the requests in flight, then exit. */
  | { type: 'stop' };

/** What the request thread hands the sold-out reads' thread (soldOutThreadMain.ts) when starting it. */
export interface SoldOutThreadInit {
  config: Config;
  redisUrl: string;
  /** The SoldOutBoard's memory. */
  board: SharedArrayBuffer;
}

/** What the request thread tells the sold-out reads' thread ('close': let Redis go, then answer 'closed'). */
export type SoldOutThreadMessage = { type: 'watch'; slot: number; sku: string; buckets: number } | { type: 'unwatch'; slot: number } | 'close';

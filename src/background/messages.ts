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

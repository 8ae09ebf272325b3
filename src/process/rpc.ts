import { DomainError, type ErrorCode, UnavailableError } from '../domain/errors';
import type { ReconcileReport, ReconcileTrigger } from '../domain/reconcile';

/**
 * The one way the engine's processes and threads call each other: a worker process asks the
 * primary, and the primary (or a single-process engine) asks its background thread. A call has an
 * id; its answer carries the same id and either the value or the error thrown (its message, and
 * its code when it was a DomainError, so a refusal such as RECONCILE_IN_PROGRESS arrives as one).
 */
export type RpcCall =
  | { id: number; kind: 'query'; sql: string; params: unknown[]; method: 'all' | 'execute' }
  | { id: number; kind: 'reconcile'; trigger: ReconcileTrigger; repair: boolean }
  /** A move of units between two buckets of a SKU (src/reconciler/bucketMoves.ts): answers its MoveResult. */
  | { id: number; kind: 'moveUnits'; source: string; target: string; qty: number; location: string }
  /** An outbox entry, and its partition's before it, written ahead of the drain, fenced (src/reconciler/factsAhead.ts). */
  | { id: number; kind: 'recordFacts'; partition: number; entryId: string; epochRead: string | null }
  /** The whole engine's Prometheus text (answered by the primary only). */
  | { id: number; kind: 'metrics' };

export type RpcAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { message: string; code?: string } };

/** What a reconcile call answers. */
export interface PassResult {
  report: ReconcileReport;
  /** Expiry events the pass drained (for the expiries metric). */
  expiriesDrained: number;
}

type Body = RpcCall extends infer C ? (C extends RpcCall ? Omit<C, 'id'> : never) : never;

/** Runs one call on the serving side and packs its value, or the error it threw, as its answer. */
export async function serveCall(id: number, run: () => Promise<unknown>): Promise<RpcAnswer> {
  try {
    return { id, ok: true, value: await run() };
  } catch (error) {
    const code = error instanceof DomainError ? error.code : undefined;
    return { id, ok: false, error: { message: (error as Error).message, code } };
  }
}

/**
 * The calling side of one channel. `post` sends a call; the owner hands every answer that comes
 * back to `receive`, and calls `peerGone` when the other side died: every call in flight then
 * fails with a 503 naming `peer`, and so does every later one.
 */
export class RpcClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private gone?: UnavailableError;

  constructor(
    private readonly peer: string,
    private readonly post: (call: RpcCall) => void,
  ) {}

  call<T>(body: Body): Promise<T> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.post({ ...body, id } as RpcCall);
    });
  }

  receive(answer: RpcAnswer): void {
    const call = this.pending.get(answer.id);
    if (!call) return;
    this.pending.delete(answer.id);
    if (answer.ok) call.resolve(answer.value);
    else call.reject(answer.error.code ? new DomainError(answer.error.code as ErrorCode, answer.error.message) : new Error(answer.error.message));
  }

  peerGone(cause?: Error): void {
    if (this.gone) return;
    this.gone = new UnavailableError(this.peer, cause);
    const inFlight = new UnavailableError(this.peer, cause, 'what it was running may or may not have finished');
    for (const call of this.pending.values()) call.reject(inFlight);
    this.pending.clear();
  }
}

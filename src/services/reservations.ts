import type { Database } from '../db/client';
import { findReservation } from '../db/reservationRepository';
import { idempotencyKeyHash, requestFingerprint } from '../domain/fingerprint';
import type { DomainError } from '../domain/errors';
import { outcomeNotYetRecorded, reservationFinished, reservationNotFound } from '../domain/refusals';
import { type RequestedLine, type Reservation, mergeLinesWithinMaxQty } from '../domain/reservation';
import type { ReserveCommand } from '../redis/reserveOperations';
import type { FinishOutcome, StockEngine } from '../redis/stockEngine';

/** A reserve request as a client sends it. */
export interface ReserveRequest {
  userId: string;
  orderId?: string | null;
  items: RequestedLine[];
  ttlSeconds: number;
  allowPartial: boolean;
  idempotencyKey?: string;
}

/**
 * The reserve request a validated body (the reserveBody schema, HTTP or gRPC) and its idempotency
 * key make, with the defaults applied: they are part of what a key is bound to.
 */
export function reserveRequest(
  body: { userId: string; orderId?: string; items: RequestedLine[]; ttlSeconds?: number; allowPartial?: boolean },
  idempotencyKey: string | undefined,
  defaultTtlSeconds: number,
): ReserveRequest {
  // Fields copied one by one: a spread of a parsed body with added fields takes V8's slow path.
  const { userId, orderId, items } = body;
  return { userId, orderId, items, ttlSeconds: body.ttlSeconds ?? defaultTtlSeconds, allowPartial: body.allowPartial ?? false, idempotencyKey };
}

/**
 * The engine's command for a reserve request, made once per request: lines merged per SKU and
 * location, the key hashed with what it is bound to. What `knownRefusal` and `reserve` take.
 */
export function reserveCommand(request: ReserveRequest): ReserveCommand {
  const { userId, ttlSeconds, allowPartial, idempotencyKey } = request;
  const lines = mergeLinesWithinMaxQty(request.items);
  const orderId = request.orderId ?? null;
  const idempotency = idempotencyKey
    ? { keyHash: idempotencyKeyHash(idempotencyKey), bodyDigest: requestFingerprint({ userId, orderId, lines, ttlSeconds, allowPartial }) }
    : undefined;
  return { userId, orderId, lines, ttlSeconds, allowPartial, idempotency };
}

export interface ReserveAnswer {
  reservation: Reservation;
  /** The Idempotency-Key had already produced this reservation. */
  replayed: boolean;
}

/**
 * A reservation's life as the API offers it: held and finished in Redis while Redis keeps its
 * record, answered from Postgres (the reconciler wrote it there) once it no longer does.
 */
export class Reservations {
  constructor(
    private readonly engine: StockEngine,
    private readonly db: Database,
  ) {}

  /**
   * The refusal a reserve gets from what this process already knows (a SKU seen sold out,
   * src/redis/soldOutWatch.ts), without a round trip; undefined when Redis must be asked. A route
   * may answer it at once; `reserve` would throw the same, before any await.
   */
  knownRefusal(command: ReserveCommand): DomainError | undefined {
    return this.engine.knownRefusal(command);
  }

  /** `abandoned`: whether the caller has gone by the time the hold is made (StockEngine.reserve). */
  async reserve(command: ReserveCommand, abandoned?: () => boolean): Promise<ReserveAnswer> {
    const outcome = await this.engine.reserve(command, abandoned);
    if (outcome.kind === 'created') return { reservation: outcome.reservation, replayed: false };
    return { reservation: await this.read(outcome.reservationId), replayed: true };
  }

  /** The reservation as a reader sees it now; 404 when neither Redis nor Postgres knows it. */
  async read(id: string): Promise<Reservation> {
    const reservation = (await this.engine.getReservation(id)) ?? (await this.recorded(id));
    if (!reservation) throw reservationNotFound();
    return reservation;
  }

  /** The reservation as Postgres recorded it, read now (Redis no longer holds its record); null when unknown. */
  async recorded(id: string): Promise<Reservation | null> {
    return findReservation(this.db, id, await this.engine.redisTimeMs());
  }

  commit(id: string): Promise<FinishOutcome> {
    return this.finish(id, 'commit', () => this.engine.commit(id));
  }

  release(id: string): Promise<FinishOutcome> {
    return this.finish(id, 'release', () => this.engine.release(id));
  }

  async extend(id: string, ttlSeconds: number): Promise<Reservation> {
    return (await this.engine.extend(id, ttlSeconds)) ?? (await this.finishedElsewhere(id, 'extend')).reservation;
  }

  private async finish(id: string, action: 'commit' | 'release', inRedis: () => Promise<FinishOutcome | null>): Promise<FinishOutcome> {
    return (await inRedis()) ?? (await this.finishedElsewhere(id, action));
  }

  /**
   * Redis no longer holds the record (its retention passed): answer from the state Postgres
   * recorded, the way the script would have. As stored, not as read: a row still PENDING past its
   * expiry may be a commit or release the drain has not written yet.
   */
  private async finishedElsewhere(id: string, action: 'commit' | 'release' | 'extend'): Promise<FinishOutcome> {
    const stored = await findReservation(this.db, id);
    if (!stored) throw reservationNotFound();
    if (stored.status === 'PENDING') throw outcomeNotYetRecorded();
    const repeat = (action === 'commit' && stored.status === 'COMMITTED') || (action === 'release' && stored.status !== 'COMMITTED');
    if (!repeat) throw reservationFinished(stored.status);
    return { reservation: stored, changed: false };
  }
}

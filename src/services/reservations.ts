import type { Database } from '../db/client';
import { findReservation } from '../db/reservationRepository';
import { parseBucketSku } from '../domain/buckets';
import { idempotencyKeyHash, requestFingerprint } from '../domain/fingerprint';
import { DomainError, UnavailableError } from '../domain/errors';
import { insufficientStock, outcomeNotYetRecorded, reservationFinished, reservationNotFound } from '../domain/refusals';
import type { ReconcileRunner } from '../reconciler/runner';
import { type RequestedLine, type Reservation, mergeLinesWithinMaxQty } from '../domain/reservation';
import type { ReserveCommand, ReserveOutcome } from '../redis/reserveOperations';
import type { FinishOutcome, StockEngine } from '../redis/stockEngine';
import { BucketRefills } from './bucketRefills';

/** Refills of a split SKU's bucket for one reserve, each followed by a try, before it answers 503. */
const MAX_REFILLS = 8;

/**
 * Next buckets a reserve short in its drawn bucket tries before a count of every bucket: a hop is
 * one script call for all the turn's short reserves, a count one read of each bucket for each.
 */
const MAX_HOPS = 3;

/** The lines an INSUFFICIENT_STOCK names: its SKU (the SKU's own name), location, asked and available units. */
type ShortLine = { sku: string; location?: string; requested: number; available: number };

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
  private readonly refills: BucketRefills;

  constructor(
    private readonly engine: StockEngine,
    private readonly db: Database,
    runner: Pick<ReconcileRunner, 'moveUnits'>,
  ) {
    this.refills = new BucketRefills(engine, runner);
  }

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
    const outcome = await this.hold(command, abandoned);
    if (outcome.kind === 'created') return { reservation: outcome.reservation, replayed: false };
    return { reservation: await this.read(outcome.reservationId), replayed: true };
  }

  /**
   * Holds the reserve. A line of a split SKU (src/domain/buckets.ts) short in its bucket is first
   * tried in up to three of the SKU's next buckets when its bucket was the turn's draw
   * (src/redis/bucketRoutes.ts: a turn's reserves share one bucket, so a short one sends them on
   * together, one script call a hop); else, or after those hops, it goes to a bucket a count shows
   * has its units, or its bucket is refilled from the others, and it is tried again
   * (bucketRefills.ts). It is refused only when no bucket could hold it. An
   * allowPartial reserve with such a line is first tried whole, so that it holds part of a line only
   * once the buckets together cannot hold all of it.
   */
  private async hold(command: ReserveCommand, abandoned?: () => boolean): Promise<ReserveOutcome> {
    const bucketsOf = (sku: string) => this.engine.bucketsOf(sku);
    // Once routed, a split SKU's line names a bucket: what this process knows of the whole SKU
    // (seen sold out, src/redis/soldOutWatch.ts) is asked first, by its own name.
    if (bucketsOf(command.lines[0].sku) > 1) {
      const known = this.engine.knownRefusal(command);
      if (known) throw known;
    }
    // One draw for all tries, moved on by hops: a line refilled in its bucket is tried again there.
    let draw = this.engine.bucketDraw(command);
    let hops = 0;
    let partialNow = false;
    for (let refills = 0; refills < MAX_REFILLS; ) {
      const tryWhole = command.allowPartial && !partialNow && command.lines.some((line) => bucketsOf(line.sku) > 1);
      try {
        return await this.engine.reserve(tryWhole ? { ...command, allowPartial: false } : command, abandoned, draw);
      } catch (error) {
        if (!(error instanceof DomainError) || error.code !== 'INSUFFICIENT_STOCK') throw error;
        const lines = (error.details as { items: ShortLine[] }).items;
        const short = lines.filter((line) => bucketsOf(line.sku) > 1);
        if (draw !== null && short.length > 0 && short.every((line) => this.engine.bucketsSpread(line.sku) && hops < Math.min(MAX_HOPS, bucketsOf(line.sku) - 1))) {
          draw += 1;
          hops += 1;
          continue;
        }
        refills += 1;
        const drawn = draw;
        const refill = (line: ShortLine, gather = false) =>
          this.refills.refill(line.sku, bucketsOf(line.sku), this.engine.bucketFor(line.sku, command.userId, drawn), line.requested, { gather, mayGo: drawn !== null && this.engine.bucketsSpread(line.sku), location: line.location });
        const outcomes = await Promise.all(short.map((line) => refill(line)));
        // A bucket that holds the line: the draw that names it (bucket b of any SKU is draw b).
        const goTo = outcomes.find((outcome) => outcome.retry && outcome.bucket);
        if (goTo?.retry && goTo.bucket) draw = parseBucketSku(goTo.bucket).bucket;
        if (outcomes.some((outcome) => outcome.retry)) continue;
        if (tryWhole) {
          // No bucket can hold all of it: every unit the others have goes to the reserve's bucket, then a partial hold.
          await Promise.all(short.map((line) => refill(line, true)));
          partialNow = true;
          continue;
        }
        if (!short.length) throw error;
        const available = new Map(short.map((line, n) => [line, (outcomes[n] as { available: number }).available]));
        throw insufficientStock({ items: lines.map((line) => ({ ...line, available: available.get(line) ?? line.available })) });
      }
    }
    throw new UnavailableError('Stock moving between the buckets of a split SKU', undefined, 'nothing was held: retry shortly');
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

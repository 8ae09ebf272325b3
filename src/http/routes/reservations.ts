import type { FastifyInstance } from 'fastify';
import { DomainError, UnavailableError } from '../../domain/errors';
import { idempotencyKeyHash, requestFingerprint } from '../../domain/fingerprint';
import { newReservationId } from '../../domain/ids';
import { type Reservation, type RequestedLine, mergeLinesWithinMaxQty } from '../../domain/reservation';
import { findReservation } from '../../db/reservationRepository';
import { ReplyCode, refusal } from '../../redis/replyCodes';
import type { ReserveOutcomeLabel } from '../../metrics';
import type { AppDeps } from '../deps';
import {
  emptyBody,
  errors,
  extendBody,
  idempotencyHeaders,
  reservationParams,
  reservationView,
  reserveBody,
} from '../schemas';

interface ReserveBody {
  userId: string;
  orderId?: string;
  items: RequestedLine[];
  ttlSeconds?: number;
  allowPartial?: boolean;
}

const OUTCOME_BY_CODE: Record<string, ReserveOutcomeLabel> = {
  INSUFFICIENT_STOCK: 'insufficient_stock',
  PURCHASE_LIMIT_EXCEEDED: 'limit_exceeded',
  SALE_NOT_ACTIVE: 'sale_not_active',
  SKU_NOT_FOUND: 'sku_not_found',
  IDEMPOTENCY_KEY_REUSED: 'idempotency_conflict',
};

export default async function reservationRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { engine, db, config, metrics } = deps;

  /**
   * Redis while it has the reservation, then Postgres (the reconciler wrote it there): as a reader
   * sees it, or with `asStored` its status as Postgres recorded it.
   */
  async function readReservation(id: string, asStored = false): Promise<Reservation | null> {
    const live = await engine.getReservation(id);
    if (live) return live;
    try {
      return await findReservation(db, id, asStored ? undefined : await engine.redisTimeMs().catch(() => Date.now()));
    } catch (error) {
      throw new UnavailableError('Postgres', error);
    }
  }

  /**
   * Redis no longer holds the record (its retention passed): answer from the state Postgres
   * recorded, mapping it the way the script would have.
   */
  async function finishedElsewhere(id: string, action: 'commit' | 'release' | 'extend'): Promise<Reservation> {
    // As stored: PENDING past expiresAt may be a commit or release the drain has not written yet.
    const stored = await readReservation(id, true);
    if (!stored) throw refusal(ReplyCode.ReservationNotFound);
    if (stored.status === 'PENDING') {
      throw new DomainError('UNAVAILABLE', 'The outcome of this reservation is not yet recorded; nothing was changed. Retry shortly.');
    }
    const repeat = (action === 'commit' && stored.status === 'COMMITTED') || (action === 'release' && stored.status !== 'COMMITTED');
    if (repeat) return stored;
    const code = { COMMITTED: ReplyCode.ReservationCommitted, RELEASED: ReplyCode.ReservationReleased, EXPIRED: ReplyCode.ReservationExpired }[stored.status];
    throw refusal(code);
  }

  app.post<{ Body: ReserveBody; Headers: { 'idempotency-key'?: string } }>(
    '/v1/reservations',
    {
      schema: {
        summary: 'Hold stock for a shopper',
        tags: ['reservations'],
        headers: idempotencyHeaders,
        body: reserveBody,
        response: { 201: reservationView, ...errors(400, 401, 404, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      const started = process.hrtime.bigint();
      const body = request.body;
      const lines = mergeLinesWithinMaxQty(body.items);
      const ttlSeconds = body.ttlSeconds ?? config.reservationTtlSeconds;
      const allowPartial = body.allowPartial ?? false;
      const orderId = body.orderId ?? null;
      const key = request.headers['idempotency-key'];
      const idempotency = key
        ? {
            keyHash: idempotencyKeyHash(key),
            bodyDigest: requestFingerprint({ userId: body.userId, orderId, lines, ttlSeconds, allowPartial }),
          }
        : undefined;
      try {
        const outcome = await engine.reserve({ id: newReservationId(), userId: body.userId, orderId, lines, ttlSeconds, allowPartial, idempotency });
        if (outcome.kind === 'replayed') {
          metrics.reservations.inc({ outcome: 'replayed' });
          const reservation = await readReservation(outcome.reservationId);
          if (!reservation) throw refusal(ReplyCode.ReservationNotFound);
          return reply.code(201).header('idempotency-replayed', 'true').send(reservation);
        }
        const partial = outcome.reservation.items.some((item) => item.backordered > 0);
        metrics.reservations.inc({ outcome: partial ? 'partial' : 'created' });
        return reply.code(201).send(outcome.reservation);
      } catch (error) {
        const code = error instanceof DomainError ? error.code : 'error';
        metrics.reservations.inc({ outcome: OUTCOME_BY_CODE[code] ?? (code === 'UNAVAILABLE' ? 'unavailable' : 'error') });
        throw error;
      } finally {
        metrics.reserveLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/reservations/:id',
    {
      schema: {
        summary: 'Read a reservation (answered from Postgres once Redis no longer has it)',
        tags: ['reservations'],
        params: reservationParams,
        response: { 200: reservationView, ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const reservation = await readReservation(request.params.id);
      if (!reservation) throw refusal(ReplyCode.ReservationNotFound);
      return reservation;
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/reservations/:id/commit',
    {
      schema: {
        summary: 'The payment went through: held units become sold (idempotent)',
        tags: ['reservations'],
        params: reservationParams,
        body: emptyBody,
        response: { 200: reservationView, ...errors(400, 401, 404, 409, 503) },
      },
    },
    async (request) => {
      const id = request.params.id;
      const outcome = await engine.commit(id);
      if (!outcome) return finishedElsewhere(id, 'commit');
      if (outcome.changed) metrics.finishes.inc({ type: 'commit' });
      return outcome.reservation;
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/reservations/:id/release',
    {
      schema: {
        summary: 'The shopper gave up: held units return to available (idempotent)',
        tags: ['reservations'],
        params: reservationParams,
        body: emptyBody,
        response: { 200: reservationView, ...errors(400, 401, 404, 409, 503) },
      },
    },
    async (request) => {
      const id = request.params.id;
      const outcome = await engine.release(id);
      if (!outcome) return finishedElsewhere(id, 'release');
      // Expiries are counted once, by the reconciler as it drains them.
      if (outcome.changed) metrics.finishes.inc({ type: 'release' });
      return outcome.reservation;
    },
  );

  app.post<{ Params: { id: string }; Body: { ttlSeconds: number } }>(
    '/v1/reservations/:id/extend',
    {
      schema: {
        summary: 'Move expiresAt to now + ttlSeconds (at most one hour after createdAt)',
        tags: ['reservations'],
        params: reservationParams,
        body: extendBody,
        response: { 200: reservationView, ...errors(400, 401, 404, 409, 503) },
      },
    },
    async (request) => {
      const id = request.params.id;
      return (await engine.extend(id, request.body.ttlSeconds)) ?? (await finishedElsewhere(id, 'extend'));
    },
  );
}

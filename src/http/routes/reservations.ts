import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import { reserveOutcome } from '../../metrics';
import { reserveCommand, reserveRequest } from '../../services/reservations';
import type { AppDeps } from '../deps';
import { sendRefusal } from '../errorHandler';
import { singleHeaderValue } from '../validation';
import { emptyBody, errors, extendBody, idempotencyHeaders, reservationParams, reservationView, reserveBody } from '../schemas';

const reservationRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: AppDeps }> = async (app, { reservations, config, metrics }) => {
  app.post(
    '/v1/reservations',
    {
      schema: {
        summary: 'Hold stock for a shopper',
        tags: ['reservations'],
        headers: idempotencyHeaders,
        body: reserveBody,
        response: { 201: reservationView, ...errors(400, 401, 404, 409, 422, 503) },
      },
      // Every answer, refusals included, is counted by outcome and timed in one place.
      onResponse: (request, reply, done) => {
        metrics.reserveAnswered(reply.statusCode, reply.outcome, reply.elapsedTime);
        done();
      },
    },
    async (request, reply) => {
      const command = reserveCommand(reserveRequest(request.body, singleHeaderValue(request, 'idempotency-key'), config.reservationTtlSeconds));
      // A SKU seen sold out is answered here: in a sale almost every request is such a refusal.
      const refused = reservations.knownRefusal(command);
      if (refused) return sendRefusal(reply, refused);
      // A client whose connection is already closed when the hold is made can never read its 201:
      // the hold is undone like a reserve answered 503. One that closes while the answer is being
      // written may have read it, so only a connection closed before the answer counts.
      const connectionClosed = () => request.raw.socket?.destroyed === true;
      const answer = await reservations.reserve(command, connectionClosed);
      const { reservation, replayed } = answer;
      reply.outcome = reserveOutcome(answer);
      if (replayed) reply.header('idempotency-replayed', 'true');
      return reply.code(201).send(reservation);
    },
  );

  app.get(
    '/v1/reservations/:id',
    {
      schema: {
        summary: 'Read a reservation (answered from Postgres once Redis no longer has it)',
        tags: ['reservations'],
        params: reservationParams,
        response: { 200: reservationView, ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => reservations.read(request.params.id),
  );

  app.post(
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
      const { reservation, changed } = await reservations.commit(request.params.id);
      if (changed) metrics.finishes.inc({ type: 'commit' });
      return reservation;
    },
  );

  app.post(
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
      const { reservation, changed } = await reservations.release(request.params.id);
      // Expiries are counted once, by the reconciler as it drains them.
      if (changed) metrics.finishes.inc({ type: 'release' });
      return reservation;
    },
  );

  app.post(
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
    async (request) => reservations.extend(request.params.id, request.body.ttlSeconds),
  );
};

export default reservationRoutes;

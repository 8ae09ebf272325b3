import { performance } from 'node:perf_hooks';
import type { ServerUnaryCall, handleUnaryCall } from '@grpc/grpc-js';
import type { FastifyBaseLogger } from 'fastify';
import { checkAvailability } from '../domain/availability';
import { skuNotFound, ticketNotFound } from '../domain/refusals';
import { normalizeSkuSettings } from '../domain/sku';
import { checkBearer, tokenRules } from '../http/auth';
import type { AppDeps } from '../http/deps';
import { reserveOutcome } from '../metrics';
import { putSku } from '../services/putSku';
import { reserveCommand, reserveRequest } from '../services/reservations';
import type { InventoryHandlers } from './generated/flashsale/v1/Inventory';
import { reservationMessage, stockMessage, ticketMessage } from './messages';
import { checkedInput, singleMetadataValue } from './requestInput';
import { apiErrorFor, serviceError } from './serviceError';

/** Who the stock movements of an UpdateStock name. */
const ADMIN_ACTOR = 'admin-grpc';

/** What the calls need: the engine's services, as the HTTP routes get them. */
export type InventoryDeps = Pick<AppDeps, 'config' | 'engine' | 'maintenance' | 'db' | 'reconciler' | 'reservations' | 'lineTickets' | 'metrics' | 'outages'>;

/**
 * The Inventory service: each call checks its token, turns its request into the HTTP route's
 * input and checks it with that route's schema (requestInput.ts), then calls the engine's
 * services exactly as the route does. A thrown error becomes the call's status (serviceError.ts).
 */
export function inventoryHandlers(deps: InventoryDeps, log: FastifyBaseLogger): InventoryHandlers {
  const { config, engine, reservations, lineTickets, metrics } = deps;
  const rules = tokenRules(config);

  /** A unary call whose answer is `run`'s, after the caller's token was checked against `rule`. */
  function unary<Request, Response>(rule: 'client' | 'admin', run: (call: ServerUnaryCall<Request, Response>) => Promise<Response>): handleUnaryCall<Request, Response> {
    return (call, callback) => {
      Promise.resolve()
        .then(() => checkBearer(singleMetadataValue(call.metadata, 'authorization'), rules[rule]))
        .then(() => run(call))
        .then(
          (response) => callback(null, response),
          (error) => callback(serviceError(error, log, deps.outages)),
        );
    };
  }

  const readSkus = (skus: string[]) => engine.getSkus(skus);

  return {
    CheckStock: unary('client', async ({ request }) => {
      const { items } = await checkAvailability(checkedInput.checkStock(request).items, readSkus);
      return { item: items[0] };
    }),

    BulkCheckStock: unary('client', async ({ request }) => checkAvailability(checkedInput.bulkCheckStock(request).items, readSkus)),

    GetStock: unary('client', async ({ request }) => {
      const sku = checkedInput.sku(request.sku);
      const view = await engine.getSku(sku);
      if (!view) throw skuNotFound(sku);
      return { stock: stockMessage(view) };
    }),

    ReserveStock: unary('client', async (call) => {
      const { request, metadata } = call;
      // Counted with the HTTP reserves, by outcome and time, refusals included.
      const started = performance.now();
      try {
        const { body, idempotencyKey } = checkedInput.reserve(request, metadata);
        // Its deadline passed or it cancelled: nobody will receive the reservation (undone as after a 503).
        const answer = await reservations.reserve(reserveCommand(reserveRequest(body, idempotencyKey, config.reservationTtlSeconds)), () => call.cancelled);
        metrics.reserveAnswered(200, reserveOutcome(answer), performance.now() - started);
        return { reservation: reservationMessage(answer.reservation), replayed: answer.replayed };
      } catch (error) {
        const failure = apiErrorFor(error);
        metrics.reserveAnswered(failure.status, failure.code, performance.now() - started);
        throw error;
      }
    }),

    GetReservation: unary('client', async ({ request }) => ({ reservation: reservationMessage(await reservations.read(checkedInput.reservationId(request.reservationId))) })),

    CommitReservation: unary('client', async ({ request }) => {
      const { reservation, changed } = await reservations.commit(checkedInput.reservationId(request.reservationId));
      if (changed) metrics.finishes.inc({ type: 'commit' });
      return { reservation: reservationMessage(reservation) };
    }),

    ReleaseReservation: unary('client', async ({ request }) => {
      const { reservation, changed } = await reservations.release(checkedInput.reservationId(request.reservationId));
      // Expiries are counted once, by the reconciler as it drains them.
      if (changed) metrics.finishes.inc({ type: 'release' });
      return { reservation: reservationMessage(reservation) };
    }),

    ExtendReservation: unary('client', async ({ request }) => {
      const { id, ttlSeconds } = checkedInput.extend(request);
      return { reservation: reservationMessage(await reservations.extend(id, ttlSeconds)) };
    }),

    UpdateStock: unary('admin', async ({ request }) => {
      const { sku, body } = checkedInput.updateStock(request);
      const { created, view, postgresDeferred } = await putSku(deps, sku, normalizeSkuSettings(body), ADMIN_ACTOR);
      if (postgresDeferred) {
        // Redis has the change and its outbox event; the reconciler writes it to Postgres.
        log.warn({ err: postgresDeferred, sku }, 'SKU saved in Redis; Postgres write deferred to the reconciler');
      }
      return { stock: stockMessage(view), created };
    }),

    JoinLine: unary('client', async ({ request, metadata }) => {
      // Counted with the HTTP joins, by outcome, refusals included.
      try {
        const { sku, userId, qty, orderId } = checkedInput.joinLine(request, metadata);
        const { ticket, changed } = await lineTickets.join(sku, userId, qty, orderId ?? null);
        metrics.lineJoinAnswered(changed ? 202 : 200, '');
        metrics.ticketAnswered(ticket);
        return { ticket: ticketMessage(ticket), joined: changed };
      } catch (error) {
        const failure = apiErrorFor(error);
        metrics.lineJoinAnswered(failure.status, failure.code);
        throw error;
      }
    }),

    GetTicket: unary('client', async ({ request }) => {
      const id = checkedInput.ticketId(request.ticketId);
      const ticket = await lineTickets.read(id);
      if (!ticket) throw ticketNotFound(id);
      metrics.ticketAnswered(ticket);
      return { ticket: ticketMessage(ticket) };
    }),

    LeaveLine: unary('client', async ({ request }) => {
      const { ticket, changed } = await lineTickets.leave(checkedInput.ticketId(request.ticketId));
      metrics.ticketAnswered(ticket);
      return { ticket: ticketMessage(ticket), left: changed };
    }),
  };
}

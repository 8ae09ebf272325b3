/**
 * The `ceiling` scenario's server: the engine's Fastify settings, JSON body parsing and response
 * serialization from the reservation schema (and, for the `line` scenario, a join of a waiting
 * line with the ticket's), but no work at all. What it serves per second is the HTTP limit of
 * this machine that the engine is measured against.
 */
import Fastify from 'fastify';
import { loadConfig } from '../src/config';
import { serverOptions } from '../src/http/app';
import { CEILING_RESERVATION } from './lib/ceilingReservation';
import { joinLineBody, reserveBody, reservationView, skuParams, ticketView } from '../src/http/schemas';

const ticket = {
  id: 'AAAAAAAAAAAAAAAA',
  sku: 'line',
  userId: 'u-1',
  qty: 1,
  orderId: null,
  status: 'WAITING',
  position: 1234,
  unitsAhead: 1233,
  unitsLeft: 1000,
  lobby: false,
  joinedAt: '2026-01-01T00:00:00.000Z',
  pollAfterMs: 2000,
  reservation: null,
};

async function main() {
  const app = Fastify(serverOptions('warn'));
  app.get('/health', async () => ({ status: 'ok' }));
  app.post('/v1/reservations', { schema: { body: reserveBody, response: { 201: reservationView } } }, async (_request, reply) => reply.code(201).send(CEILING_RESERVATION));
  app.post('/v1/skus/:sku/line', { schema: { params: skuParams, body: joinLineBody, response: { 202: ticketView } } }, async (_request, reply) => reply.code(202).send(ticket));
  // The engine's accept queue (LISTEN_BACKLOG), so both meet a thousand connections alike.
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1', backlog: loadConfig().listenBacklog });
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();

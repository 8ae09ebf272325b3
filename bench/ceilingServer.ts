/**
 * The `ceiling` scenario's server: the engine's Fastify settings, JSON body parsing and response
 * serialization from the reservation schema, but no work at all. What it serves per second is
 * the HTTP limit of this machine that the engine is measured against.
 */
import Fastify from 'fastify';
import { toLine } from '../src/domain/reservation';
import { serverOptions } from '../src/http/app';
import { reserveBody, reservationView } from '../src/http/schemas';

const reservation = {
  id: 'AAAAAAAAAAAAAAAA',
  status: 'PENDING',
  userId: 'u-1',
  orderId: 'o-1',
  items: [toLine('hot', 1, 1, null)],
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T00:15:00.000Z',
};

async function main() {
  const app = Fastify(serverOptions('warn'));
  app.get('/health', async () => ({ status: 'ok' }));
  app.post('/v1/reservations', { schema: { body: reserveBody, response: { 201: reservationView } } }, async (_request, reply) => reply.code(201).send(reservation));
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();

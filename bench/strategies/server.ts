/**
 * The strategy shoot-out server: the same reserve route over one of four backends
 * (STRATEGY = lua | for-update | optimistic | redis-lock). POST /setup puts stock on sale,
 * POST /reserve holds, GET /check tallies held units against the counters.
 */
import Fastify from 'fastify';
import { serverOptions } from '../../src/http/app';
import type { ReserveBackend } from './backend';
import { forUpdateBackend } from './forUpdate';
import { luaBackend } from './lua';
import { optimisticBackend } from './optimistic';
import { redisLockBackend } from './redisLock';

async function backendFor(strategy: string): Promise<ReserveBackend> {
  const redisUrl = process.env.REDIS_URL!;
  const databaseUrl = process.env.DATABASE_URL!;
  switch (strategy) {
    case 'lua':
      return luaBackend(redisUrl);
    case 'for-update':
      return forUpdateBackend(databaseUrl);
    case 'optimistic':
      return optimisticBackend(databaseUrl);
    case 'redis-lock':
      return redisLockBackend(redisUrl);
    default:
      throw new Error(`unknown STRATEGY ${strategy}`);
  }
}

async function main() {
  const backend = await backendFor(process.env.STRATEGY ?? 'lua');
  let initial = 0;
  // autocannon stops with requests still in flight; setup and tally wait until they are done, so
  // a straggler of one run never lands in the next run's counters.
  let inFlight = 0;
  const settled = async () => {
    for (let waited = 0; inFlight > 0 && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  const app = Fastify(serverOptions('warn'));
  app.post<{ Body: { skus: string[]; total: number } }>('/setup', async (request) => {
    await settled();
    await backend.setup(request.body.skus, request.body.total);
    initial = request.body.skus.length * request.body.total;
    return { ok: true };
  });
  app.post<{ Body: { sku: string; userId: string; qty: number } }>('/reserve', async (request, reply) => {
    const { sku, userId, qty } = request.body;
    inFlight += 1;
    try {
      return (await backend.reserve(sku, userId, qty)) ? reply.code(201).send({ held: qty }) : reply.code(409).send({ held: 0 });
    } catch (error) {
      return reply.code(503).send({ error: (error as Error).message });
    } finally {
      inFlight -= 1;
    }
  });
  app.get('/check', async () => {
    await settled();
    if (!initial) return { initial, held: 0, available: 0, oversold: 0 };
    const { held, available } = await backend.tally();
    // More units held than the counters gave out (a lost update), or counters below zero.
    return { initial, held, available, oversold: Math.max(0, held - (initial - available)) + Math.max(0, -available) };
  });
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  process.once('SIGTERM', () => void app.close().then(() => backend.close()).then(() => process.exit(0)));
}

void main();

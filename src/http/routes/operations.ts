import { DrizzleQueryError } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { DomainError, UnavailableError } from '../../domain/errors';
import type { AppDeps } from '../deps';
import { errors } from '../schemas';

/**
 * Any failed readiness check is 503 UNAVAILABLE naming what is down, never a 500: the engine
 * reports Redis as UNAVAILABLE itself, drizzle wraps Postgres's failures in DrizzleQueryError,
 * and the rest of the check loads the scripts into Redis.
 */
function notReady(error: unknown): DomainError {
  if (error instanceof DomainError && error.code === 'UNAVAILABLE') return error;
  return new UnavailableError(error instanceof DrizzleQueryError ? 'Postgres' : 'Redis', error);
}

export default async function operationRoutes(app: FastifyInstance, { metrics, checkReady, dataWatch }: AppDeps): Promise<void> {
  app.get(
    '/health',
    {
      schema: {
        summary: 'The process runs',
        tags: ['operations'],
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/ready',
    {
      schema: {
        summary: 'Redis and Postgres answer, the scripts are loaded, and Redis is not being rebuilt',
        tags: ['operations'],
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } }, ...errors(503) },
      },
    },
    async () => {
      dataWatch.assertServing();
      await checkReady().catch((error: unknown) => {
        throw notReady(error);
      });
      return { status: 'ready' };
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}

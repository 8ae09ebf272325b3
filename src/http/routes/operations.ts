import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps';
import { errors } from '../schemas';

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
      await checkReady();
      return { status: 'ready' };
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}

import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps';
import { bearerAuth, tokenRules } from '../auth';
import { errors } from '../schemas';

export default async function operationRoutes(app: FastifyInstance, { metrics, checkReady, primary, config }: AppDeps): Promise<void> {
  // With WORKERS > 1, which worker process answered (and its pid): a connection stays with one.
  const health = primary ? { status: 'ok', worker: primary.worker, pid: process.pid } : { status: 'ok' };
  app.get(
    '/health',
    {
      schema: {
        summary: 'The process runs (with WORKERS > 1: which worker process answered)',
        tags: ['operations'],
        response: { 200: { type: 'object', properties: { status: { type: 'string' }, worker: { type: 'integer' }, pid: { type: 'integer' } } } },
      },
    },
    async () => health,
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
      await checkReady();
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    {
      schema: { summary: 'Prometheus metrics (METRICS_TOKEN, or the admin token, when METRICS_TOKEN is set)', tags: ['operations'], security: [{ bearer: [] }] },
      onRequest: bearerAuth(tokenRules(config).metrics),
    },
    async (_request, reply) => {
      const text = await metrics.exposition();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}

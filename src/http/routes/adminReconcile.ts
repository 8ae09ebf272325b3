import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import { listRuns } from '../../db/reconcileRunRepository';
import { passStoppedEarly } from '../../domain/refusals';
import type { AppDeps } from '../deps';
import { deadLetterList, errors, itemsOf, limitQuery, reconcileBody, reconcileReport } from '../schemas';

const adminReconcileRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: AppDeps }> = async (app, { reconciler, db, maintenance }) => {
  app.post(
    '/v1/admin/reconcile',
    {
      schema: {
        summary: 'Run a reconciler pass now: sweep expired holds, drain the outbox, report (and optionally repair) drift',
        tags: ['admin'],
        security: [{ bearer: [] }],
        body: reconcileBody,
        response: { 200: reconcileReport, ...errors(400, 401, 409, 503) },
      },
    },
    async (request) => {
      const report = await reconciler.run('api', { repair: request.body?.repair ?? false });
      if (report.error) {
        throw passStoppedEarly(report);
      }
      return report;
    },
  );

  app.get(
    '/v1/admin/reconcile/runs',
    {
      schema: {
        summary: 'Stored reconciler passes (cron, API and CLI), newest first',
        tags: ['admin'],
        security: [{ bearer: [] }],
        querystring: limitQuery(500, 20),
        response: { 200: itemsOf(reconcileReport), ...errors(400, 401, 503) },
      },
    },
    async (request) => ({ items: await listRuns(db, request.query.limit) }),
  );

  app.get(
    '/v1/admin/dead-letters',
    {
      schema: {
        summary: 'Outbox entries Postgres refused as data, newest first, over every partition (see docs/operations.md#dead-letters)',
        tags: ['admin'],
        security: [{ bearer: [] }],
        querystring: limitQuery(500, 50),
        response: { 200: deadLetterList, ...errors(400, 401, 503) },
      },
    },
    async (request) => {
      const letters = await maintenance.outbox.deadLetters(request.query.limit);
      return {
        items: letters.map(({ partition, id, entryId, json, error }) => ({ partition, id, at: new Date(Number(id.split('-')[0])).toISOString(), entryId, error, entry: json })),
      };
    },
  );
};

export default adminReconcileRoutes;

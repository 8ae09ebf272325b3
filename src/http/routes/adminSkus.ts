import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import { DomainError } from '../../domain/errors';
import { adjustBeyondAvailable } from '../../domain/refusals';
import { normalizeSkuSettings } from '../../domain/sku';
import { listMovements, pageSkuNames } from '../../db/skuRepository';
import { putSku } from '../../reconciler/putSku';
import type { AppDeps } from '../deps';
import { adjustBody, errors, limitQuery, movementsResponse, putSkuBody, skuList, skuListQuery, skuParams, skuView } from '../schemas';

const ADMIN_ACTOR = 'admin-api';

const adminSkuRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: AppDeps }> = async (app, deps) => {
  const { engine, db } = deps;
  app.put(
    '/v1/admin/skus/:sku',
    {
      schema: {
        summary: 'Create (201) or update (200) a SKU with a total or with locations in priority order; available becomes total - reserved - sold',
        tags: ['admin'],
        security: [{ bearer: [] }],
        params: skuParams,
        body: putSkuBody,
        response: { 200: skuView, 201: skuView, ...errors(400, 401, 409, 503) },
      },
    },
    async (request, reply) => {
      const { sku } = request.params;
      const { created, view, postgresDeferred } = await putSku(deps, sku, normalizeSkuSettings(request.body), ADMIN_ACTOR);
      if (postgresDeferred) {
        // Redis has the change and its outbox event; the reconciler writes it to Postgres.
        request.log.warn({ err: postgresDeferred, sku }, 'SKU saved in Redis; Postgres write deferred to the reconciler');
      }
      return reply.code(created ? 201 : 200).send(view);
    },
  );

  app.get(
    '/v1/admin/skus',
    {
      schema: {
        summary: 'Every SKU, a page at a time in name order, with its live view; `q` keeps those whose name contains it',
        tags: ['admin'],
        security: [{ bearer: [] }],
        querystring: skuListQuery,
        response: { 200: skuList, ...errors(400, 401, 503) },
      },
    },
    async (request) => {
      const { after, limit, q } = request.query;
      // One more than asked tells whether another page follows.
      const names = await pageSkuNames(db, { after: after ?? '', limit: limit + 1, contains: q });
      const page = names.slice(0, limit);
      const views = await engine.getSkus(page);
      return { items: views.filter((view) => view !== null), next: names.length > limit ? page[page.length - 1] : null };
    },
  );

  app.post(
    '/v1/admin/skus/:sku/adjust',
    {
      schema: {
        summary: 'Add (or with a negative delta remove) units: restock, damage, count corrections',
        tags: ['admin'],
        security: [{ bearer: [] }],
        params: skuParams,
        body: adjustBody,
        response: { 200: skuView, ...errors(400, 401, 404, 409, 503) },
      },
    },
    async (request) => {
      const { delta, reason, location } = request.body;
      return engine.adjustStock(request.params.sku, delta, reason, ADMIN_ACTOR, location).catch((error: unknown) => {
        // The engine words a shortage as a reserve's ("nothing was held").
        throw error instanceof DomainError && error.code === 'INSUFFICIENT_STOCK' ? adjustBeyondAvailable(error.details) : error;
      });
    },
  );

  app.get(
    '/v1/admin/skus/:sku/movements',
    {
      schema: {
        summary: 'Audit trail of every stock change of a SKU, newest first (as drained into Postgres)',
        tags: ['admin'],
        security: [{ bearer: [] }],
        params: skuParams,
        querystring: limitQuery(1000, 100),
        response: { 200: movementsResponse, ...errors(400, 401, 503) },
      },
    },
    async (request) => {
      const rows = await listMovements(db, request.params.sku, request.query.limit);
      return {
        items: rows.map((row) => ({
          at: row.at.toISOString(),
          location: row.location,
          type: row.type,
          qty: row.qty,
          reason: row.reason,
          actor: row.actor,
          reservationId: row.reservationId,
        })),
      };
    },
  );
};

export default adminSkuRoutes;

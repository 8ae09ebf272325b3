import type { FastifyPluginAsyncJsonSchemaToTs, JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyRequest } from 'fastify';
import { type SkuView, normalizeSkuSettings } from '../../domain/sku';
import { listMovements, pageSkuNames } from '../../db/skuRepository';
import { adjustSku } from '../../services/adjustSku';
import { type PutSkuResult, patchSku, putSku } from '../../services/putSku';
import type { AppDeps } from '../deps';
import { adjustBody, errors, limitQuery, movementsResponse, patchSkuBody, putSkuBody, skuList, skuListQuery, skuParams, skuView } from '../schemas';
import { parseJsonBody } from '../validation';

const ADMIN_ACTOR = 'admin-api';

/** JSON merge patch (RFC 7396) is JSON under a media type of its own; PATCH takes it and plain JSON. */
const MERGE_PATCH = 'application/merge-patch+json';

/** The view a PUT or PATCH answers with; a Postgres write left to the reconciler is logged. */
function written(request: FastifyRequest, sku: string, { view, postgresDeferred }: PutSkuResult): SkuView {
  // Redis has the change and its outbox event; the reconciler writes it to Postgres.
  if (postgresDeferred) request.log.warn({ err: postgresDeferred, sku }, 'SKU saved in Redis; Postgres write deferred to the reconciler');
  return view;
}

const adminSkuRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: AppDeps }> = async (app, deps) => {
  const { engine, db } = deps;
  app.put(
    '/v1/admin/skus/:sku',
    {
      schema: {
        summary: 'Create (201) or update (200) a SKU with a total or with locations in priority order; available becomes total - reserved - sold',
        description:
          'PUT replaces the settings: a field left out returns to its default (perUserLimit, startsAt and endsAt to null). PATCH changes only the fields it names.',
        tags: ['admin'],
        security: [{ bearer: [] }],
        params: skuParams,
        body: putSkuBody,
        response: { 200: skuView, 201: skuView, ...errors(400, 401, 409, 503) },
      },
    },
    async (request, reply) => {
      const { sku } = request.params;
      const result = await putSku(deps, sku, normalizeSkuSettings(request.body), ADMIN_ACTOR);
      return reply.code(result.created ? 201 : 200).send(written(request, sku, result));
    },
  );

  // Its own scope, so that only PATCH takes the merge-patch media type.
  await app.register(async (scope) => {
    scope.addContentTypeParser(MERGE_PATCH, { parseAs: 'string' }, parseJsonBody);
    scope.withTypeProvider<JsonSchemaToTsProvider>().patch(
      '/v1/admin/skus/:sku',
      {
        schema: {
          summary: 'Change the settings it names of an existing SKU (JSON merge patch), keeping the others',
          description:
            'Fields left out keep their values; null resets perUserLimit, startsAt or endsAt. locations replaces the list of locations (as PUT); total is refused on a SKU with named locations. The same checks and 409s as PUT. The SKU is read and then written: a PUT, PATCH or adjust of it in between is overwritten for the fields this patch keeps.',
          tags: ['admin'],
          security: [{ bearer: [] }],
          consumes: [MERGE_PATCH, 'application/json'],
          params: skuParams,
          body: patchSkuBody,
          response: { 200: skuView, ...errors(400, 401, 404, 409, 503) },
        },
      },
      async (request) => {
        const { sku } = request.params;
        return written(request, sku, await patchSku(deps, sku, request.body, ADMIN_ACTOR));
      },
    );
  });

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
      return adjustSku(deps, request.params.sku, delta, reason, ADMIN_ACTOR, location);
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

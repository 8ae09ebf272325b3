import type { FastifyInstance } from 'fastify';
import { DomainError, UnavailableError } from '../../domain/errors';
import type { SkuSettings } from '../../domain/sku';
import { listMovements, upsertSku } from '../../db/skuRepository';
import { findSkuRow } from '../../db/skuRows';
import { restoreSkus } from '../../reconciler/coldStart';
import type { AppDeps } from '../deps';
import { adjustBody, errors, limitQuery, movementsResponse, putSkuBody, skuParams, skuView } from '../schemas';

const ADMIN_ACTOR = 'admin-api';

export default async function adminSkuRoutes(app: FastifyInstance, { engine, db }: AppDeps): Promise<void> {
  app.put<{ Params: { sku: string }; Body: SkuSettings }>(
    '/v1/admin/skus/:sku',
    {
      schema: {
        summary: 'Create (201) or update (200) a SKU; available becomes total - reserved - sold',
        tags: ['admin'],
        security: [{ bearer: [] }],
        params: skuParams,
        body: putSkuBody,
        response: { 200: skuView, 201: skuView, ...errors(400, 401, 409, 503) },
      },
    },
    async (request, reply) => {
      const settings = request.body;
      if (settings.startsAt && settings.endsAt && Date.parse(settings.endsAt) <= Date.parse(settings.startsAt)) {
        throw new DomainError('VALIDATION_FAILED', 'endsAt must be later than startsAt.', { startsAt: settings.startsAt, endsAt: settings.endsAt });
      }
      const normalized: SkuSettings = {
        total: settings.total,
        perUserLimit: settings.perUserLimit ?? null,
        startsAt: settings.startsAt ? new Date(settings.startsAt).toISOString() : null,
        endsAt: settings.endsAt ? new Date(settings.endsAt).toISOString() : null,
      };
      const sku = request.params.sku;
      // A SKU Postgres knows is never created anew in Redis: its total would count twice.
      const known = await findSkuRow(db, sku).catch((error) => {
        throw new UnavailableError('Postgres', error);
      });
      const put = () => engine.setStock(sku, normalized, ADMIN_ACTOR, { mayCreate: !known });
      const { created, view, version } = await put().catch(async (error) => {
        if (!known || !(error instanceof DomainError) || error.code !== 'SKU_NOT_FOUND') throw error;
        // Redis lost this one SKU (its data marker is intact): restore it, then apply the change.
        await restoreSkus(engine, db, [known]);
        return put();
      });
      try {
        await upsertSku(db, view, version);
      } catch (error) {
        // Redis has the change and its outbox event; the reconciler writes it to Postgres.
        request.log.warn({ err: error, sku: view.sku }, 'SKU saved in Redis; Postgres write deferred to the reconciler');
      }
      return reply.code(created ? 201 : 200).send(view);
    },
  );

  app.post<{ Params: { sku: string }; Body: { delta: number; reason: string } }>(
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
      const { delta, reason } = request.body;
      return engine.adjustStock(request.params.sku, delta, reason, ADMIN_ACTOR);
    },
  );

  app.get<{ Params: { sku: string }; Querystring: { limit: number } }>(
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
      try {
        const rows = await listMovements(db, request.params.sku, request.query.limit);
        return {
          items: rows.map((row) => ({
            at: row.at.toISOString(),
            type: row.type,
            qty: row.qty,
            reason: row.reason,
            actor: row.actor,
            reservationId: row.reservationId,
          })),
        };
      } catch (error) {
        throw new UnavailableError('Postgres', error);
      }
    },
  );
}

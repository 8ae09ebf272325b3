import type { FastifyInstance } from 'fastify';
import { type RequestedLine, mergeLinesWithinMaxQty } from '../../domain/reservation';
import { ReplyCode, refusal } from '../../redis/replyCodes';
import type { AppDeps } from '../deps';
import { availabilityBody, availabilityResponse, errors, skuParams, skuView } from '../schemas';

export default async function skuRoutes(app: FastifyInstance, { engine }: AppDeps): Promise<void> {
  app.get<{ Params: { sku: string } }>(
    '/v1/skus/:sku',
    {
      schema: {
        summary: 'The SKU view: available + reserved + sold == total',
        tags: ['skus'],
        params: skuParams,
        response: { 200: skuView, ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const view = await engine.getSku(request.params.sku);
      if (!view) throw refusal(ReplyCode.SkuNotFound, { sku: request.params.sku });
      return view;
    },
  );

  app.post<{ Body: { items: RequestedLine[] } }>(
    '/v1/availability',
    {
      schema: {
        summary: 'Could these lines be held now? Lines of one SKU are merged; holds nothing; unknown SKUs read available 0',
        tags: ['skus'],
        body: availabilityBody,
        response: { 200: availabilityResponse, ...errors(400, 401, 503) },
      },
    },
    async (request) => {
      const items = mergeLinesWithinMaxQty(request.body.items);
      const views = await engine.getSkus(items.map((item) => item.sku));
      const answers = items.map((item, n) => {
        const available = Math.max(0, views[n]?.available ?? 0);
        return { sku: item.sku, qty: item.qty, available, ok: available >= item.qty };
      });
      return { ok: answers.every((answer) => answer.ok), items: answers };
    },
  );
}

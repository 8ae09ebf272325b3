import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import { checkAvailability } from '../../domain/availability';
import { skuNotFound } from '../../domain/refusals';
import type { AppDeps } from '../deps';
import { availabilityBody, availabilityResponse, errors, skuParams, skuView } from '../schemas';

const skuRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: AppDeps }> = async (app, { engine }) => {
  app.get(
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
      if (!view) throw skuNotFound(request.params.sku);
      return view;
    },
  );

  app.post(
    '/v1/availability',
    {
      schema: {
        summary: 'Could these lines be held now? Lines of one SKU and location are merged; holds nothing; unknown SKUs read available 0',
        tags: ['skus'],
        body: availabilityBody,
        response: { 200: availabilityResponse, ...errors(400, 401, 503) },
      },
    },
    async (request) => checkAvailability(request.body.items, (skus) => engine.getSkus(skus)),
  );
};

export default skuRoutes;

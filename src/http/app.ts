import { LogController, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { guardScope, tokenRules } from './auth';
import type { Config } from '../config';
import { engineLogOptions } from '../logOptions';
import type { AppDeps } from './deps';
import { answerClientError, installErrorHandling, sendError } from './errorHandler';
import enginePlugin, { type EnginePluginOptions } from './plugins/engine';
import metricsPlugin from './plugins/metrics';
import { documentBodyRefusals, markOptionalBodies } from './schemas';
import { installValidation } from './validation';
import adminReconcileRoutes from './routes/adminReconcile';
import adminSkuRoutes from './routes/adminSkus';
import adminWebhookRoutes from './routes/adminWebhooks';
import dashboardRoutes from './routes/dashboard';
import eventRoutes from './routes/events';
import operationRoutes from './routes/operations';
import reservationRoutes from './routes/reservations';
import lineRoutes from './routes/lines';
import skuRoutes from './routes/skus';

export const BODY_LIMIT_BYTES = 64 * 1024;

export function serverOptions(logLevel: string): FastifyServerOptions {
  return {
    logger: logLevel === 'silent' ? false : engineLogOptions(logLevel),
    // Request lines are not logged at the default level: the reserve path stays free of I/O.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // The router refuses a bad %-escape or an over-long path parameter before any error handler.
    frameworkErrors: sendError,
    // Node's parser refuses some requests before any of the above: a malformed request line, headers too large.
    clientErrorHandler: answerClientError,
    // The engine plugin starts Redis and PGlite and may rebuild Redis from Postgres before it
    // serves: on a loaded machine or a large catalogue that takes longer than Fastify's 10 s.
    pluginTimeout: 120_000,
  };
}

export type AppOptions = EnginePluginOptions & { config: Config };

/**
 * The whole HTTP API as a plugin: the engine's services (plugins/engine.ts, closed with the app),
 * its metrics, validation and the one error shape, the OpenAPI document, and the routes. The
 * entry point (main.ts) or a test creates the server with serverOptions() and registers this.
 */
const app: FastifyPluginAsync<AppOptions> = async (app, options) => {
  // JSON in and out: other media types are 415, not strings handed to the JSON schemas.
  app.removeContentTypeParser('text/plain');
  installValidation(app);
  installErrorHandling(app);
  app.addHook('onRoute', documentBodyRefusals);
  await app.register(enginePlugin, options);
  await app.register(metricsPlugin, { perSku: options.config.metricsPerSku });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Flash-sale reservation engine',
        description:
          'Hold stock for shoppers during a sale, commit holds once paid, release them otherwise. An optional field sent as null means the same as leaving it out.',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      // In the order a reader meets them; the docs page groups the routes under these.
      tags: [
        { name: 'reservations', description: 'Holds on stock for a shopper: reserve, read, commit once paid, release, extend' },
        { name: 'skus', description: "A SKU's stock as shoppers see it, availability checks, and live events" },
        {
          name: 'lines',
          description:
            "Waiting lines: a fair queue in front of a hot SKU. Join (one ticket per shopper), read where you stand or how the ticket ended, leave; when your turn comes the engine holds the units for you as an ordinary reservation with the ticket's id. Tickets also stream on GET /v1/events?tickets=",
        },
        { name: 'admin', description: 'SKU settings (a line among them), stock adjustments, movements and reconciler passes; ADMIN_TOKEN' },
        { name: 'webhooks', description: 'Endpoints told of reservations, stock and line events, signed, delivered at least once; ADMIN_TOKEN' },
        { name: 'operations', description: 'Health, readiness and Prometheus metrics' },
      ],
    },
    transformObject: (document) => ('openapiObject' in document ? markOptionalBodies(document.openapiObject) : document.swaggerObject),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const { config } = options;
  const deps: AppDeps = { config, ...app.runtime, metrics: app.metrics };
  const rules = tokenRules(config);

  await app.register(operationRoutes, deps);
  await app.register(dashboardRoutes);
  await app.register(async (client) => {
    guardScope(client, rules.client);
    await client.register(reservationRoutes, deps);
    await client.register(skuRoutes, deps);
    await client.register(lineRoutes, deps);
    await client.register(eventRoutes, deps);
  });
  await app.register(async (admin) => {
    guardScope(admin, rules.admin);
    await admin.register(adminSkuRoutes, deps);
    await admin.register(adminReconcileRoutes, deps);
    await admin.register(adminWebhookRoutes, deps);
  });
};

// Not encapsulated: the error handler, the 404 handler and the decorations apply to the server.
export default fp(app, { name: 'flash-sale-app' });

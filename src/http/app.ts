import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { bearerAuth } from './auth';
import type { AppDeps } from './deps';
import { installErrorHandling, sendError } from './errorHandler';
import { installValidation } from './validation';
import adminReconcileRoutes from './routes/adminReconcile';
import adminSkuRoutes from './routes/adminSkus';
import operationRoutes from './routes/operations';
import reservationRoutes from './routes/reservations';
import skuRoutes from './routes/skus';

export const BODY_LIMIT_BYTES = 64 * 1024;

export function serverOptions(logLevel: string): FastifyServerOptions {
  return {
    logger: logLevel === 'silent' ? false : { level: logLevel },
    // Request lines are not logged at the default level: the reserve path stays free of I/O.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // The router refuses a bad %-escape or an over-long path parameter before any error handler.
    frameworkErrors: sendError,
  };
}

/** Builds the whole HTTP API around the given services; the caller listens (or injects in tests). */
export async function buildApp(deps: AppDeps, options: FastifyServerOptions = serverOptions(deps.config.logLevel)): Promise<FastifyInstance> {
  const app = Fastify(options);
  // JSON in and out: other media types are 415, not strings handed to the JSON schemas.
  app.removeContentTypeParser('text/plain');
  installValidation(app);
  installErrorHandling(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Flash-sale reservation engine',
        description: 'Hold stock for shoppers during a sale, commit holds once paid, release them otherwise.',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  watchEngine(app, deps);
  // While Redis is rebuilt after losing its data, nothing it answers could be trusted: 503.
  const whileServing = async () => deps.dataWatch.assertServing();

  await app.register(operationRoutes, deps);
  await app.register(async (client) => {
    client.addHook('onRequest', bearerAuth(deps.config.apiToken, { required: false, variable: 'API_TOKEN' }));
    client.addHook('onRequest', whileServing);
    await client.register(reservationRoutes, deps);
    await client.register(skuRoutes, deps);
  });
  await app.register(async (admin) => {
    admin.addHook('onRequest', bearerAuth(deps.config.adminToken, { required: true, variable: 'ADMIN_TOKEN' }));
    admin.addHook('onRequest', whileServing);
    await admin.register(adminSkuRoutes, deps);
    await admin.register(adminReconcileRoutes, deps);
  });
  return app;
}

/**
 * The engine's own repairs (reserves undone, Redis rebuilt) reach /metrics and the log; on close, the data watch stops and the
 * engine makes a last attempt to undo reserves answered 503 (what is left expires by itself).
 */
function watchEngine(app: FastifyInstance, { engine, metrics, dataWatch }: AppDeps): void {
  dataWatch.log = app.log;
  engine.observer = {
    reservesUndone(outcome, reservationIds) {
      metrics.reservesUndone.inc({ outcome }, reservationIds.length);
      if (outcome === 'released') app.log.warn({ reservationIds }, `released ${reservationIds.length} holds whose reserve was answered 503`);
      if (outcome === 'left_to_expire') {
        app.log.warn({ reservationIds }, `${reservationIds.length} reserves answered 503 could not be undone before stopping; any hold they made expires by itself`);
      }
    },
  };
  app.addHook('onClose', async () => {
    dataWatch.stop();
    await engine.close();
  });
}

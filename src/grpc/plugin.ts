import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config';
import { type GrpcServer, startGrpcServer } from './server';

/**
 * The gRPC interface beside the HTTP API of one engine process, on the same services (register
 * after the app): it listens when the app is ready and, when the app closes, stops taking calls
 * and finishes those in flight while the HTTP server does the same, before the services close.
 * Nothing with GRPC_PORT=off.
 */
const grpcPlugin: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const port = config.grpcPort;
  if (port === undefined) return;
  let grpc: GrpcServer | undefined;
  let closing: Promise<void> | undefined;
  app.addHook('onReady', async () => {
    grpc = await startGrpcServer({ config, ...app.runtime, metrics: app.metrics }, { host: config.host, port, log: app.log });
    app.log.info(`gRPC (flashsale.v1.Inventory, health, reflection) listening on ${config.host}:${grpc.port}`);
  });
  // Its calls drain while the HTTP requests do; the engine's services close after both (onClose
  // hooks run in reverse order of registration, the engine's last).
  app.addHook('preClose', async () => {
    closing = grpc?.close();
  });
  app.addHook('onClose', async () => {
    await closing;
  });
};

export default fp(grpcPlugin, { name: 'grpc', dependencies: ['engine', 'metrics'] });

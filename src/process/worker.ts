import Fastify from 'fastify';
import type { PrimaryMessage, WorkerMessage } from './messages';
import type { Config } from '../config';
import grpc from '../grpc/plugin';
import app, { serverOptions } from '../http/app';
import { processLogOptions } from './log';

/** The environment variable through which the primary tells a worker which one it is (1..WORKERS). */
export const WORKER_ENV = 'FLASHSALE_WORKER';

/**
 * One HTTP worker of `npm start` with WORKERS > 1 (forked by primary.ts): the whole API
 * on the port the workers share, with reconciler passes and the embedded Postgres reached in the
 * primary (runtime `in-primary`). It stops when the primary says so or is gone; SIGINT and
 * SIGTERM of its own are ignored, since a terminal's Ctrl-C or a service manager's stop reaches
 * every process of the group at once and the primary stops the workers in order.
 */
export async function runWorker(config: Config): Promise<void> {
  const worker = Number(process.env[WORKER_ENV]);
  if (!Number.isInteger(worker) || worker < 1) throw new Error(`${WORKER_ENV} must name this worker (1..WORKERS); workers are started by the primary`);
  const options = serverOptions(config.logLevel);
  const server = Fastify({ ...options, logger: options.logger && processLogOptions(config.logLevel, { worker }) });
  let serving = false;
  let stopping = false;

  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    // Still starting: no request is in flight, nothing to finish.
    if (!serving) process.exit(0);
    server.log.info(`${why}: finishing in-flight requests, then stopping`);
    await server.close().catch((error) => server.log.error({ err: error }, 'stopping failed'));
    process.exit(0);
  };
  process.on('message', (message: PrimaryMessage) => {
    if (message?.type === 'stop') void stop('asked by the primary');
  });
  process.once('disconnect', () => void stop('the primary process is gone'));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => server.log.debug(`${signal} ignored: the primary stops the workers`));
  }

  await server.register(app, { config, runtime: { services: 'in-primary', worker } });
  await server.register(grpc, { config });
  await server.ready();
  const primary = server.runtime.primary!;
  const metrics = server.metrics;
  primary.localMetrics = () => metrics.registry.getMetricsAsJSON();
  metrics.exposition = () => primary.clusterMetrics();
  if (stopping) process.exit(0);
  await server.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
  serving = true;
  process.send!({ type: 'listening' } satisfies WorkerMessage);
}

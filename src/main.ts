import cluster from 'node:cluster';
import Fastify from 'fastify';
import { ConfigError, loadConfig } from './config';
import { clearEngineInfo, writeEngineInfo } from './engineInfo';
import grpc from './grpc/plugin';
import app, { serverOptions } from './http/app';
import { scheduleReconciler } from './reconciler/schedule';
import { MissingBinaryError } from './servers/binaries';
import { runPrimary } from './process/primary';
import { runWorker } from './process/worker';

/**
 * `npm start`: the API and the reconciler in one process, until SIGTERM or SIGINT. With WORKERS > 1,
 * a primary process and that many HTTP workers sharing the port instead (src/process/).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  if (config.workers > 1) return cluster.isPrimary ? runPrimary(config) : runWorker(config);
  const server = Fastify(serverOptions(config.logLevel));
  await server.register(app, { config, runtime: { services: 'background-thread' } });
  await server.register(grpc, { config });
  await server.ready();
  if (!config.adminToken) {
    server.log.warn('ADMIN_TOKEN is not set: /v1/admin/* answers 401. Start with ADMIN_TOKEN=<secret> to enable it.');
  }
  await server.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
  const url = `http://${config.host}:${config.port}`;
  writeEngineInfo(config.dataDir, { pid: process.pid, url, embeddedPostgres: !config.databaseUrl });
  const schedule = scheduleReconciler(server.runtime.reconciler, config.reconcileCron, server.log);
  const { location } = server.runtime;
  server.log.info(
    `flash-sale engine listening on ${url} (Redis: ${location.redis}; Postgres: ${location.postgres}; ` +
      `reconciler: "${config.reconcileCron}"; docs: ${url}/docs)`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    // A terminal's Ctrl-C may deliver SIGINT twice (to the engine and to npm): stop once.
    if (stopping) return;
    stopping = true;
    server.log.info(`${signal}: finishing in-flight requests, then stopping`);
    // No new pass starts; the server then closes its routes and the services they ran on.
    await schedule.stop();
    await server.close();
    clearEngineInfo(config.dataDir, process.pid);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error) => {
  if (error instanceof ConfigError || error instanceof MissingBinaryError) {
    console.error(`Cannot start: ${error.message}`);
  } else {
    console.error('Cannot start:', error);
  }
  process.exit(1);
});

import { ConfigError, loadConfig } from './config';
import { listSkuNames } from './db/skuRepository';
import type { SkuView } from './domain/sku';
import { buildApp } from './http/app';
import { EngineMetrics } from './metrics';
import { RedisDataWatch } from './reconciler/redisDataWatch';
import { Reservations } from './reconciler/reservations';
import { scheduleReconciler } from './reconciler/schedule';
import { MissingBinaryError } from './servers/binaries';
import { startRuntime } from './runtime';
import { clearEngineInfo, writeEngineInfo } from './engineInfo';

/** Per-SKU gauges are exported for at most this many SKUs, to bound a scrape's cost. */
const METRICS_SKU_LIMIT = 1000;

/** `npm start`: the API and the reconciler in one process, until SIGTERM or SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig();
  const runtime = await startRuntime(config, { background: true });
  const { engine, maintenance, db, reconciler } = runtime;
  const metrics = new EngineMetrics(async () => {
    const views = await engine.getSkus(await listSkuNames(db, METRICS_SKU_LIMIT));
    return views.filter((view): view is SkuView => view !== null);
  });
  reconciler.observer = metrics;
  const dataWatch = new RedisDataWatch(maintenance, db);
  const app = await buildApp({ config, engine, maintenance, reservations: new Reservations(engine, db), db, metrics, reconciler, dataWatch, checkReady: runtime.checkReady });

  // Cold start: a Redis that lost SKUs Postgres knows gets them back before any traffic.
  const restored = await dataWatch.startUp();
  if (restored.skus || restored.bindings) {
    app.log.warn(`restored ${restored.skus} SKUs, ${restored.holds} pending holds and ${restored.bindings} idempotency keys from Postgres into Redis`);
  }
  dataWatch.watch();

  if (!config.adminToken) {
    app.log.warn('ADMIN_TOKEN is not set: /v1/admin/* answers 401. Start with ADMIN_TOKEN=<secret> to enable it.');
  }
  await app.listen({ port: config.port, host: config.host });
  const url = `http://${config.host}:${config.port}`;
  writeEngineInfo(config.dataDir, { pid: process.pid, url, embeddedPostgres: !config.databaseUrl });
  const schedule = scheduleReconciler(reconciler, config.reconcileCron, app.log);
  app.log.info(
    `flash-sale engine listening on ${url} ` +
      `(Redis: ${runtime.redisLocation}; Postgres: ${config.databaseUrl ? 'DATABASE_URL' : `PGlite in ${config.dataDir}/pglite`}; ` +
      `reconciler: "${config.reconcileCron}"; docs: ${url}/docs)`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info(`${signal}: finishing in-flight requests, then stopping`);
    await schedule.stop();
    await app.close();
    await runtime.stop();
    clearEngineInfo(config.dataDir, process.pid);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error) => {
  if (error instanceof ConfigError || error instanceof MissingBinaryError) {
    console.error(`Cannot start: ${error.message}`);
  } else {
    console.error('Cannot start:', error);
  }
  process.exit(1);
});

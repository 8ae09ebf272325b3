import { ConfigError, loadConfig } from './config';
import { buildApp } from './http/app';
import { listSkuNames } from './db/skuRepository';
import type { SkuView } from './domain/sku';
import { EngineMetrics } from './metrics';
import { MissingBinaryError } from './redis/embeddedRedis';
import { startRuntime } from './runtime';

/** Per-SKU gauges are exported for at most this many SKUs, to bound a scrape's cost. */
const METRICS_SKU_LIMIT = 1000;

/** `npm start`: the API (and, in one process, the reconciler) until SIGTERM or SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig();
  const runtime = await startRuntime(config);
  const metrics = new EngineMetrics(async () => {
    const views = await runtime.engine.getSkus(await listSkuNames(runtime.database.db, METRICS_SKU_LIMIT));
    return views.filter((view): view is SkuView => view !== null);
  });
  const app = await buildApp({
    config,
    engine: runtime.engine,
    db: runtime.database.db,
    metrics,
    checkReady: runtime.checkReady,
  });

  if (!config.adminToken) {
    app.log.warn('ADMIN_TOKEN is not set: /v1/admin/* answers 401. Start with ADMIN_TOKEN=<secret> to enable it.');
  }
  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    `flash-sale engine listening on http://${config.host}:${config.port} ` +
      `(Redis: ${runtime.redisLocation}; Postgres: ${config.databaseUrl ? 'DATABASE_URL' : `PGlite in ${config.dataDir}/pglite`}; docs: /docs)`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info(`${signal}: finishing in-flight requests, then stopping`);
    await app.close();
    await runtime.stop();
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

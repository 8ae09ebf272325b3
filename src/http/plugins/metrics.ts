import fp from 'fastify-plugin';
import { listSkuNames } from '../../db/skuRepository';
import type { SkuView } from '../../domain/sku';
import { EngineMetrics } from '../../metrics';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: EngineMetrics;
  }
}

/** Per-SKU gauges are exported for at most this many SKUs, to bound a scrape's cost. */
const METRICS_SKU_LIMIT = 1000;

/**
 * The Prometheus series of the API, and the engine's own reports (reconciler passes, reserves
 * undone, Redis rebuilt) routed to /metrics and the log.
 */
export default fp<{ perSku: boolean }>(
  async (app, { perSku }) => {
    const { engine, db, reconciler, dataWatch } = app.runtime;
    const metrics = new EngineMetrics(async () => {
      // METRICS_PER_SKU=off: a large catalogue's scrape reads no SKU at all.
      if (!perSku) return [];
      const views = await engine.getSkus(await listSkuNames(db, METRICS_SKU_LIMIT));
      return views.filter((view): view is SkuView => view !== null);
    });
    reconciler.observer = metrics;
    metrics.answeringSoldOutFrom(() => engine.soldOut.refusedHere);
    dataWatch.log = app.log;
    app.runtime.outages.log = app.log;
    engine.observer = {
      reservesUndone(outcome, reservationIds) {
        metrics.reservesUndone.inc({ outcome }, reservationIds.length);
        if (outcome === 'released') app.log.warn({ reservationIds }, `released ${reservationIds.length} holds whose reserve was answered 503`);
        if (outcome === 'left_to_expire') {
          app.log.warn({ reservationIds }, `${reservationIds.length} reserves answered 503 could not be undone before stopping; any hold they made expires by itself`);
        }
      },
    };
    app.decorate('metrics', metrics);
  },
  { name: 'metrics', dependencies: ['engine'] },
);

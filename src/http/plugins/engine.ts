import fp from 'fastify-plugin';
import type { Config } from '../../config';
import { type Runtime, type RuntimeOptions, startRuntime } from '../../process/runtime';

declare module 'fastify' {
  interface FastifyInstance {
    /** Redis, Postgres and the engine's services on them (src/runtime.ts). */
    runtime: Runtime;
  }
}

export interface EnginePluginOptions {
  config: Config;
  runtime: RuntimeOptions;
  /** How often the engine checks that Redis still holds its data (default 1 s). */
  dataWatchIntervalMs?: number;
}

/**
 * Opens the engine's services, restores into Redis what it lacks before any traffic (cold start),
 * watches for Redis losing its data, and lets everything go when the app closes.
 */
export default fp<EnginePluginOptions>(
  async (app, { config, runtime: runtimeOptions, dataWatchIntervalMs }) => {
    const runtime = await startRuntime(config, { log: app.log, ...runtimeOptions });
    const { dataWatch, engine } = runtime;
    try {
      const restored = await dataWatch.startUp();
      if (restored.skus || restored.bindings) {
        app.log.warn(`restored ${restored.skus} SKUs, ${restored.holds} pending holds and ${restored.bindings} idempotency keys from Postgres into Redis`);
      }
      // Inside the try: should the start fail, its thread is let go with the rest.
      await runtime.watchSoldOut();
    } catch (error) {
      await engine.soldOut.stop();
      await runtime.stop();
      throw error;
    }
    dataWatch.watch(dataWatchIntervalMs);
    runtime.lineWatch.watch();
    app.decorate('runtime', runtime);
    app.addHook('onClose', async () => {
      dataWatch.stop();
      await runtime.lineWatch.stop();
      await engine.soldOut.stop();
      // A last attempt to undo reserves answered 503; what is left expires by itself.
      await engine.close();
      await runtime.stop();
    });
  },
  { name: 'engine' },
);

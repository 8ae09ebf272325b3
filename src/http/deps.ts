import type { Config } from '../config';
import type { EngineMetrics } from '../metrics';
import type { Runtime } from '../process/runtime';

/** What the routes need: the settings, the engine's services (src/runtime.ts) and the metrics. */
export type AppDeps = Omit<Runtime, 'stop' | 'location'> & {
  config: Config;
  metrics: EngineMetrics;
};

import type { LoadResult } from './load';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult {
  name: string;
  description: string;
  loads: LoadResult[];
  /** Other figures (rates, ratios, bytes), by name. */
  figures: Record<string, number | string>;
  checks: Check[];
}

export interface ScenarioContext {
  quick: boolean;
  progress(line: string): void;
  /** Results of scenarios already run in this invocation (hot-sku reads the ceiling's). */
  earlier: Map<string, ScenarioResult>;
}

export interface Scenario {
  name: string;
  description: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

export function check(name: string, ok: boolean, detail: string): Check {
  return { name, ok, detail };
}

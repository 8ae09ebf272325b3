import type { CpuReading } from './cpu';
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
  /** CPU readings of work that is not an HTTP load (a drain: µs per event); those of loads are on the loads. */
  cpu?: { label: string; reading: CpuReading }[];
  /** Tables of the scenario's own, printed after the others (the scale model). */
  tables?: ReportTable[];
  /** Machine-readable inputs and outputs behind those tables, kept in the JSON only. */
  data?: Record<string, unknown>;
}

export interface ReportTable {
  title: string;
  header: string[];
  /** Columns right-aligned (numbers); by index. */
  numeric?: number[];
  rows: string[][];
  notes?: string[];
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
  /** false: left out of a `--quick` run that names no scenario (CI's), which it would lengthen too much; named, it runs. */
  inQuickSuite?: false;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

export function check(name: string, ok: boolean, detail: string): Check {
  return { name, ok, detail };
}

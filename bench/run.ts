/**
 * `npm run bench [-- <scenario>…] [--quick]`: runs the benchmark scenarios against freshly started
 * engines and writes the report (JSON, Markdown, SVG) to bench/results/. Exits 1 when an invariant
 * check failed. Speeds are reported, never asserted.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './lib/machine';
import { type BenchReport, markdown, writeReport } from './lib/report';
import type { Scenario, ScenarioResult } from './lib/types';
import { checkout } from './scenarios/checkout';
import { durability } from './scenarios/durability';
import { flashSale } from './scenarios/flashSale';
import { grpcHotSku } from './scenarios/grpcHotSku';
import { line } from './scenarios/line';
import { liveEvents } from './scenarios/liveEvents';
import { reconcilerRates } from './scenarios/reconciler';
import { scale } from './scenarios/scale';
import { soldOut } from './scenarios/soldOut';
import { CONNECTIONS, durations } from './scenarios/settings';
import { strategies } from './scenarios/strategies';
import { ceiling, hotSku } from './scenarios/throughput';

const SCENARIOS: Scenario[] = [ceiling, hotSku, grpcHotSku, liveEvents, flashSale, soldOut, line, checkout, strategies, reconcilerRates, scale, durability];

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { quick: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    console.log(`usage: npm run bench [-- <scenario>…] [--quick]\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return 0;
  }
  const unknown = positionals.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return 1;
  }
  const quick = values.quick ?? false;
  const selected = positionals.length ? SCENARIOS.filter((s) => positionals.includes(s.name)) : SCENARIOS.filter((s) => !quick || s.inQuickSuite !== false);
  const progress = (line: string) => console.log(line);
  const earlier = new Map<string, ScenarioResult>();
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    quick,
    machine: describeMachine(),
    settings: { connections: CONNECTIONS, ...durations(quick) },
    scenarios: [],
  };
  for (const scenario of selected) {
    console.log(`▶ ${scenario.name}: ${scenario.description}`);
    const started = Date.now();
    const result = await scenario.run({ quick, progress, earlier });
    earlier.set(scenario.name, result);
    report.scenarios.push(result);
    for (const c of result.checks) console.log(`  ${c.ok ? '✓' : '✗ FAILED'} ${c.name}: ${c.detail}`);
    console.log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  report.finishedAt = new Date().toISOString();
  const files = writeReport(report, path.resolve(path.dirname(new URL(import.meta.url).pathname), 'results'));
  console.log(`\n${markdown(report)}`);
  console.log(`report written to ${files.join(' and ')}`);
  const failed = report.scenarios.flatMap((s) => s.checks).filter((c) => !c.ok);
  if (failed.length) console.error(`${failed.length} invariant check(s) FAILED`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

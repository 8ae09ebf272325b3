import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type CpuReading, STAGES, shortName } from './cpu';
import type { LoadResult } from './load';
import type { ReportTable, ScenarioResult } from './types';

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  scenarios: ScenarioResult[];
}

const number = (value: number) => value.toLocaleString('en');

export function markdown(report: BenchReport): string {
  const lines = [
    `# Benchmark ${report.startedAt}${report.quick ? ' (quick)' : ''}`,
    '',
    `Machine: ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, ${report.machine.os}; Node ${report.machine.node}; ${report.machine.redis}; ${report.machine.postgres}`,
    '',
    '| scenario | run | connections | req/s | p50 ms | p90 ms | p99 ms | non-2xx | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const scenario of report.scenarios) {
    for (const load of scenario.loads) {
      lines.push(`| ${scenario.name} | ${load.label} | ${load.connections} | ${number(load.rps)} | ${load.latency.p50} | ${load.latency.p90} | ${load.latency.p99} | ${number(load.non2xx)} | ${number(load.errors)} |`);
    }
  }
  const readings = report.scenarios.flatMap((scenario) => [
    ...scenario.loads.flatMap((load) => (load.cpu ? [{ scenario: scenario.name, label: load.label, reading: load.cpu }] : [])),
    ...(scenario.cpu ?? []).map(({ label, reading }) => ({ scenario: scenario.name, label, reading })),
  ]);
  if (readings.length) {
    lines.push(
      '',
      'CPU time (user + system, from the operating system) per request, µs, by stage; a stage of several processes lists each. `cores` is CPU time over wall time, every process summed: near the machine\'s core count, the run was bound by CPU.',
      '',
      `| scenario | run | per | ${STAGES.join(' | ')} | total | cores |`,
      `|---|---|---|${STAGES.map(() => '---:').join('|')}|---:|---:|`,
    );
    for (const { scenario, label, reading } of readings) {
      lines.push(`| ${scenario} | ${label} | ${reading.per} | ${STAGES.map((stage) => stageCell(reading, stage)).join(' | ')} | ${reading.totalUs.toFixed(1)} | ${cores(reading).toFixed(2)} |`);
    }
  }
  for (const scenario of report.scenarios) for (const table of scenario.tables ?? []) lines.push('', ...tableLines(table));
  lines.push('', '| scenario | figure | value |', '|---|---|---:|');
  for (const scenario of report.scenarios) {
    for (const [name, value] of Object.entries(scenario.figures)) lines.push(`| ${scenario.name} | ${name} | ${typeof value === 'number' ? number(value) : value} |`);
  }
  lines.push('', '| scenario | check | result | detail |', '|---|---|---|---|');
  for (const scenario of report.scenarios) {
    for (const c of scenario.checks) lines.push(`| ${scenario.name} | ${c.name} | ${c.ok ? 'pass' : '**FAIL**'} | ${c.detail.replaceAll('|', '/')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** `44.0 (primary 0.4 · worker 1 21.9 · worker 2 21.7)`, or `–` for a stage the run did not have. */
export function stageCell(reading: CpuReading, stage: (typeof STAGES)[number]): string {
  const total = reading.stages[stage];
  if (total === undefined) return '–';
  const members = reading.processes.filter((p) => p.stage === stage);
  return members.length > 1 ? `${total.toFixed(1)} (${members.map((p) => `${shortName(p.name, stage)} ${p.us.toFixed(1)}`).join(' · ')})` : total.toFixed(1);
}

/** Cores kept busy by every process of the run together. */
export const cores = (reading: CpuReading) => reading.processes.reduce((sum, p) => sum + p.cores, 0);

export function tableLines(table: ReportTable): string[] {
  const align = table.header.map((_, n) => (table.numeric?.includes(n) ? '---:' : '---'));
  return [
    `**${table.title}**`,
    '',
    `| ${table.header.join(' | ')} |`,
    `|${align.join('|')}|`,
    ...table.rows.map((row) => `| ${row.map((cell) => cell.replaceAll('|', '/')).join(' | ')} |`),
    ...(table.notes?.length ? ['', ...table.notes] : []),
  ];
}

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Throughput bars on the left, latency percentiles (p50, p90, p99) on the right, one row per run. */
export function svgChart(report: BenchReport): string {
  const loads: LoadResult[] = report.scenarios.flatMap((scenario) => scenario.loads);
  const rowHeight = 26;
  const top = 60;
  // Wide enough for the longest run label (about 7 px per character at this font size).
  const labelWidth = Math.max(210, 20 + 7 * Math.max(0, ...loads.map((load) => load.label.length)));
  const barWidth = 360;
  const latencyLeft = labelWidth + barWidth + 120;
  const latencyWidth = 300;
  const height = top + loads.length * rowHeight + 40;
  const maxRps = Math.max(1, ...loads.map((load) => load.rps));
  const maxLatency = Math.max(1, ...loads.map((load) => load.latency.p99));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${latencyLeft + latencyWidth + 140}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">Flash-sale engine benchmark ${escape(report.startedAt)}${report.quick ? ' (quick)' : ''}</text>`,
    `<text x="10" y="40" fill="#555">${escape(`${report.machine.cpus} CPUs, Node ${report.machine.node}`)}</text>`,
    `<text x="${labelWidth}" y="${top - 6}" font-weight="bold">throughput (req/s)</text>`,
    `<text x="${latencyLeft}" y="${top - 6}" font-weight="bold">latency ms, log scale: p50 ▮ p90 ▮ p99</text>`,
  ];
  loads.forEach((load, n) => {
    const y = top + n * rowHeight;
    const width = (load.rps / maxRps) * barWidth;
    parts.push(`<text x="10" y="${y + 16}">${escape(load.label)}</text>`);
    parts.push(`<rect x="${labelWidth}" y="${y + 4}" width="${width.toFixed(1)}" height="16" fill="#3b7dd8"/>`);
    parts.push(`<text x="${labelWidth + width + 6}" y="${y + 16}">${number(load.rps)}</text>`);
    // Log scale: a 2 s p99 of a refusal-heavy run must not flatten the 10 ms of the others.
    const scale = (ms: number) => (Math.log10(1 + ms) / Math.log10(1 + maxLatency)) * latencyWidth;
    const shades = [['p99', '#f4b183'], ['p90', '#e9814a'], ['p50', '#c55a11']] as const;
    for (const [key, color] of shades) parts.push(`<rect x="${latencyLeft}" y="${y + 4}" width="${scale(load.latency[key]).toFixed(1)}" height="16" fill="${color}"/>`);
    parts.push(`<text x="${latencyLeft + scale(load.latency.p99) + 6}" y="${y + 16}">${load.latency.p50} / ${load.latency.p90} / ${load.latency.p99}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Writes report.json, report.md and report.svg under bench/results/<stamp>/ and as bench/results/latest.*. */
export function writeReport(report: BenchReport, directory: string): string[] {
  mkdirSync(directory, { recursive: true });
  const stamp = report.startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
  const files: string[] = [];
  for (const base of [`${stamp}${report.quick ? '-quick' : ''}`, 'latest']) {
    const json = path.join(directory, `${base}.json`);
    writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(path.join(directory, `${base}.md`), markdown(report));
    writeFileSync(path.join(directory, `${base}.svg`), svgChart(report));
    files.push(json.replace(/\.json$/, '.{json,md,svg}'));
  }
  return files;
}

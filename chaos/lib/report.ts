import { type CheckResult, INVARIANTS, iso, type Violation } from './checker';
import type { Fault } from './faults';
import type { History, Op } from './workload';

function table(title: string, rows: [string, string | number][]): string {
  const width = Math.max(title.length, ...rows.map(([k]) => k.length));
  return [`${title.padEnd(width)}  count`, `${'-'.repeat(width)}  -----`, ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join('\n');
}

const answerOf = (op: Op) => (op.status === 0 ? 'no answer' : `${op.status}${op.code ? ` ${op.code}` : ''}`);

function describe(op: Op): string {
  return `  ${iso(op.t0)}-${iso(op.t1)} #${op.seq} c${op.client}@${op.engine} ${op.kind}${op.via ? ` (${op.via})` : ''} ${op.method} ${op.path}${op.idemKey ? ` key="${op.idemKey}"` : ''} → ${answerOf(op)}${op.answer?.status ? ` ${op.answer.status}` : ''}${op.answer?.expiresAt ? ` exp ${op.answer.expiresAt.slice(11, 23)}` : ''}`;
}

/** The shortest history around a violation: the requests on its reservation or ticket (or SKU) and the faults near them. */
export function historyAround(violation: Violation, history: History, faults: Fault[], limit = 25): string {
  const ops = history.ops
    .filter((op) =>
      violation.resId
        ? op.resId === violation.resId || op.ticketId === violation.resId
        : violation.sku
          ? op.status >= 200 && op.status < 300 && op.method !== 'GET' && (op.path.includes(`/${violation.sku}`) || JSON.stringify(op.body ?? '').includes(`"${violation.sku}"`))
          : false,
    )
    .slice(-limit);
  const from = (ops[0]?.t0 ?? violation.at ?? Date.now()) - 2000;
  const to = (ops[ops.length - 1]?.t1 ?? violation.at ?? Date.now()) + 2000;
  const near = faults.filter((f) => f.t1 >= from && f.t0 <= to).map((f) => ({ t: f.t0, line: `  ${iso(f.t0)}-${iso(f.t1)} FAULT ${f.kind}: ${f.detail}` }));
  return [...ops.map((op) => ({ t: op.t0, line: describe(op) })), ...near]
    .sort((a, b) => a.t - b.t)
    .map((x) => x.line)
    .join('\n');
}

/** Acknowledged effects lost per kind of data loss, as excused (lost by design) and not (violations): the table that compares REDIS_WAIT_REPLICAS settings. */
function lostByFault(result: CheckResult): [string, string][] {
  const kinds = [...new Set([...result.lostByDesign, ...result.violations].flatMap((v) => (v.lostTo ? [v.lostTo] : [])))].sort();
  const count = (list: Violation[], kind: string) => list.filter((v) => v.lostTo === kind).length;
  return kinds.map((kind) => [kind, `${count(result.lostByDesign, kind)} by design, ${count(result.violations, kind)} violations`]);
}

export function report(seed: number, minutes: number, cluster: boolean, waitReplicas: number, history: History, faults: Fault[], result: CheckResult): string {
  const byKind = new Map<string, number>();
  for (const op of history.ops) {
    const key = `${op.kind}${op.via ? ` (${op.via})` : ''} → ${answerOf(op)}`;
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
  }
  const faultKinds = new Map<string, number>();
  for (const f of faults) faultKinds.set(f.error ? `${f.kind} (failed)` : f.kind, (faultKinds.get(f.error ? `${f.kind} (failed)` : f.kind) ?? 0) + 1);
  const violationsBy = INVARIANTS.map((inv) => [inv, result.violations.filter((v) => v.invariant === inv).length] as [string, number]);
  const lines = [
    `chaos campaign: seed ${seed}, ${minutes} min, ${cluster ? '3-master cluster with replicas' : 'one Redis'}, REDIS_WAIT_REPLICAS=${waitReplicas}, ${history.ops.length} requests, ${history.reservations.size} reservations acknowledged`,
    '',
    table('operation → answer', [...byKind].sort((a, b) => a[0].localeCompare(b[0]))),
    '',
    table('fault', [...faultKinds].sort()),
    '',
    table('violations by invariant (each must be 0)', violationsBy),
    '',
    table('lost by design (not violations, see below)', [
      ...INVARIANTS.map((inv) => [inv, result.lostByDesign.filter((v) => v.invariant === inv).length] as [string, number]).filter(([, n]) => n > 0),
      ...(result.lostByDesign.length ? [] : [['(none)', 0] as [string, number]]),
    ]),
    'Lost by design: effects acknowledged before Redis lost its data (FLUSHALL, a promoted replica) and not yet',
    'drained to Postgres by a complete reconciler pass; the engine rebuilds only what Postgres knows',
    '(docs/operations.md#when-redis-comes-back-empty), so these may be gone. Anything else lost is a violation.',
    '',
    table('acknowledged effects lost, by the fault that lost Redis data', lostByFault(result).length ? lostByFault(result) : [['(none)', '0']]),
    'A promoted replica lacks nothing acknowledged when the engines wait for one (REDIS_WAIT_REPLICAS >= 1): what it lacks then is a violation.',
    '',
    ...result.settle,
  ];
  if (result.lostByDesign.length) lines.push('', 'lost by design (first 5):', ...result.lostByDesign.slice(0, 5).map((v) => `  ${v.invariant}: ${v.detail}`));
  if (result.violations.length) {
    lines.push('', `FAILED: ${result.violations.length} violation(s), seed ${seed}`);
    for (const violation of result.violations.slice(0, 5)) lines.push('', `${violation.invariant}: ${violation.detail}`, historyAround(violation, history, faults));
  } else lines.push('', `OK: no violation, seed ${seed}`);
  return lines.join('\n');
}

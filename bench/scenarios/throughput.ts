import { type Server, admin, startCeiling, startEngine } from '../lib/processes';
import { runLoad } from '../lib/load';
import { type Scenario, type ScenarioContext, type ScenarioResult, check } from '../lib/types';
import { CONNECTIONS, JSON_HEADERS, RESERVE_BODY, durations } from './settings';

async function measureReserve(server: Server, label: string, context: ScenarioContext) {
  const { seconds, warmup } = durations(context.quick);
  const base = { url: `${server.url}/v1/reservations`, method: 'POST' as const, headers: JSON_HEADERS, body: RESERVE_BODY, connections: CONNECTIONS };
  await runLoad({ ...base, label: `${label} warm-up`, duration: warmup });
  return runLoad({ ...base, label, duration: seconds, progress: context.progress });
}

/** The ceiling's throughput, measured in a run of its own under `label`. */
async function measureCeiling(context: ScenarioContext, label: string) {
  const server = await startCeiling();
  try {
    return await measureReserve(server, label, context);
  } finally {
    await server.stop();
  }
}

export const ceiling: Scenario = {
  name: 'ceiling',
  description: 'The reserve request against a server with the engine\'s Fastify settings, schemas and serialization, doing no work: the HTTP limit of this machine.',
  async run(context) {
    const load = await measureCeiling(context, 'ceiling');
    return { name: 'ceiling', description: this.description, loads: [load], figures: { rps: load.rps }, checks: [check('all answers 201', load.non2xx === 0 && load.errors === 0, `${load.non2xx} non-2xx, ${load.errors} errors`)] };
  },
};

/** Runs the reserve load against a fresh engine; `env` may pause the reconciler. */
async function hotSkuRun(context: ScenarioContext, label: string, env: Record<string, string>) {
  const server = await startEngine(env);
  try {
    await admin(server, 'PUT', '/v1/admin/skus/hot', { total: 1_000_000_000 });
    const load = await measureReserve(server, label, context);
    const view = await (await fetch(`${server.url}/v1/skus/hot`)).json();
    return { load, view };
  } finally {
    await server.stop();
  }
}

export const hotSku: Scenario = {
  name: 'hot-sku',
  description:
    'Reserve on one SKU with ample stock, 100 connections, against a freshly started engine (embedded Redis with appendfsync always, PGlite, reconciler draining every 5 s on its thread), and again with the reconciler paused to show the request path alone. Reported as ratios to the ceiling measured in the same run; a full run measures the ceiling again afterwards and uses the mean of both, so a machine that speeds up or slows down meanwhile shows as drift instead of skewing the ratio.',
  async run(context): Promise<ScenarioResult> {
    const ceilingResult = context.earlier.get('ceiling') ?? (await ceiling.run(context));
    context.earlier.set('ceiling', ceilingResult);
    const ceilingBefore = ceilingResult.figures.rps as number;
    const live = await hotSkuRun(context, 'hot-sku', {});
    // --quick skips the second engine and the second ceiling to stay within a minute.
    const paused = context.quick ? undefined : await hotSkuRun(context, 'hot-sku, reconciler paused', { RECONCILE_CRON: '0 0 1 1 *' });
    const ceilingAfter = context.quick ? undefined : await measureCeiling(context, 'ceiling, again after hot-sku');
    const ceilingRps = ceilingAfter ? Math.round((ceilingBefore + ceilingAfter.rps) / 2) : ceilingBefore;
    const runs = paused ? [live, paused] : [live];
    const checks = runs.flatMap(({ load, view }) => {
      const held = load.statusCounts['201'] ?? 0;
      return [
        check(`${load.label}: every reserve held a unit`, load.non2xx === 0 && load.errors === 0, `${load.non2xx} non-2xx, ${load.errors} errors`),
        check(
          `${load.label}: counters conserved and match the answers`,
          view.available + view.reserved + view.sold === view.total && view.reserved + view.sold >= held,
          `available ${view.available} + reserved ${view.reserved} + sold ${view.sold} = total ${view.total}; ${held} holds answered`,
        ),
      ];
    });
    return {
      name: 'hot-sku',
      description: this.description,
      loads: [...runs.map((run) => run.load), ...(ceilingAfter ? [ceilingAfter] : [])],
      figures: {
        rps: live.load.rps,
        ceilingRps,
        ...(ceilingAfter && { 'ceiling before': ceilingBefore, 'ceiling after': ceilingAfter.rps }),
        ratioToCeiling: Number((live.load.rps / ceilingRps).toFixed(3)),
        p99Ms: live.load.latency.p99,
        ...(paused && {
          'reconciler paused: rps': paused.load.rps,
          'reconciler paused: ratioToCeiling': Number((paused.load.rps / ceilingRps).toFixed(3)),
          'reconciler paused: p99Ms': paused.load.latency.p99,
        }),
      },
      checks,
    };
  },
};

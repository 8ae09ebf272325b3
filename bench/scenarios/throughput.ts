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

export const ceiling: Scenario = {
  name: 'ceiling',
  description: 'The reserve request against a server with the engine\'s Fastify settings, schemas and serialization, doing no work: the HTTP limit of this machine.',
  async run(context) {
    const server = await startCeiling();
    try {
      const load = await measureReserve(server, 'ceiling', context);
      return { name: 'ceiling', description: this.description, loads: [load], figures: { rps: load.rps }, checks: [check('all answers 201', load.non2xx === 0 && load.errors === 0, `${load.non2xx} non-2xx, ${load.errors} errors`)] };
    } finally {
      await server.stop();
    }
  },
};

export const hotSku: Scenario = {
  name: 'hot-sku',
  description: 'Reserve on one SKU with ample stock, 100 connections, against a freshly started engine (embedded Redis with appendfsync always, PGlite, reconciler running). Reported as a ratio to the ceiling measured in the same run.',
  async run(context): Promise<ScenarioResult> {
    const ceilingResult = context.earlier.get('ceiling') ?? (await ceiling.run(context));
    context.earlier.set('ceiling', ceilingResult);
    const server = await startEngine();
    try {
      await admin(server, 'PUT', '/v1/admin/skus/hot', { total: 1_000_000_000 });
      const load = await measureReserve(server, 'hot-sku', context);
      const view = await (await fetch(`${server.url}/v1/skus/hot`)).json();
      const held = load.statusCounts['201'] ?? 0;
      const ceilingRps = ceilingResult.figures.rps as number;
      return {
        name: 'hot-sku',
        description: this.description,
        loads: [load],
        figures: { rps: load.rps, ceilingRps, ratioToCeiling: Number((load.rps / ceilingRps).toFixed(3)), p99Ms: load.latency.p99 },
        checks: [
          check('every reserve held a unit', load.non2xx === 0 && load.errors === 0, `${load.non2xx} non-2xx, ${load.errors} errors`),
          check('counters conserved and match the answers', view.available + view.reserved + view.sold === view.total && view.reserved + view.sold >= held, `available ${view.available} + reserved ${view.reserved} + sold ${view.sold} = total ${view.total}; ${held} holds answered`),
        ],
      };
    } finally {
      await server.stop();
    }
  },
};

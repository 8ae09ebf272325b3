import { type StockCounts, isConserved } from '../../src/domain/sku';
import { type Server, admin, reconcileNow, startCeiling, startEngine } from '../lib/processes';
import { type LoadResult, combineLoads, median, runLoad } from '../lib/load';
import { type Scenario, type ScenarioContext, type ScenarioResult, check } from '../lib/types';
import { CONNECTIONS, JSON_HEADERS, RESERVE_BODY, durations } from './settings';

/**
 * The reserve request at 100 connections against `server` for `seconds`; a measured run (`measured`)
 * reads the CPU time of every process, after `settle` when given (see LoadOptions.settle).
 */
export function reserveLoad(server: Server, label: string, seconds: number, progress?: (line: string) => void, measured = true, settle?: () => Promise<void>) {
  return runLoad({ url: `${server.url}/v1/reservations`, method: 'POST', headers: JSON_HEADERS, body: RESERVE_BODY, connections: CONNECTIONS, label, duration: seconds, progress, cpu: measured ? server.cpu : undefined, settle });
}

/** The env of an engine whose reconciler never runs on its own: the request path alone. */
const RECONCILER_PAUSED = { RECONCILE_CRON: '0 0 1 1 *' };

/**
 * What ends an engine's measured run: the drain of the holds it made, counted with it; nothing
 * when its reconciler is paused, whose runs show the request path alone.
 */
const drainOf = (engine: Server, env: Record<string, string>) => (env.RECONCILE_CRON === RECONCILER_PAUSED.RECONCILE_CRON ? undefined : () => reconcileNow(engine));

async function measureReserve(server: Server, label: string, context: ScenarioContext, settle?: () => Promise<void>) {
  const { seconds, warmup } = durations(context.quick);
  await reserveLoad(server, `${label} warm-up`, warmup, undefined, false);
  return reserveLoad(server, label, seconds, context.progress, true, settle);
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

/** Full runs: the ceiling and the engine take turns this many times, this many seconds each. */
const ROUNDS = 5;
const ROUND_SECONDS = 3;

interface EngineRun {
  load: LoadResult;
  /** Full runs only: the ceiling rounds run alongside, and each round's engine / ceiling ratio. */
  ceilingLoad?: LoadResult;
  ratios?: number[];
  view: StockCounts & { locations: (StockCounts & { location: string })[] };
}

/** The hot SKU's stock: in one location, or a third in each of three (a line of 1 then comes from the first, the common case). */
const ONE_LOCATION = { total: 999_999_999 };
const THREE_LOCATIONS = { locations: ['north', 'centre', 'south'].map((location) => ({ location, total: 333_333_333 })) };

/** A fresh engine with the hot SKU on sale (`stock`: its PUT body); `env` may pause the reconciler. */
export async function withHotEngine<T>(env: Record<string, string>, use: (engine: Server) => Promise<T>, stock: object = ONE_LOCATION): Promise<T> {
  const engine = await startEngine(env);
  try {
    await admin(engine, 'PUT', '/v1/admin/skus/hot', stock);
    return await use(engine);
  } finally {
    await engine.stop();
  }
}

export const hotView = async (engine: Server) => (await fetch(`${engine.url}/v1/skus/hot`)).json();

/** --quick: one run against the engine, read against the ceiling scenario's figure. */
function singleRun(context: ScenarioContext, label: string, env: Record<string, string>, stock?: object): Promise<EngineRun> {
  return withHotEngine(env, async (engine) => ({ load: await measureReserve(engine, label, context, drainOf(engine, env)), view: await hotView(engine) }), stock);
}

/**
 * Full runs: the ceiling server and the engine take turns in short rounds, so both are measured
 * on the same machine; on a virtual machine whose speed drifts by tens of percent within a minute,
 * a ratio between two runs taken a minute apart says little. The ratio is the median of the
 * rounds' ratios.
 */
function alternatingRuns(context: ScenarioContext, ceilingServer: Server, label: string, env: Record<string, string>, stock?: object): Promise<EngineRun> {
  return withHotEngine(env, async (engine) => {
    const { warmup } = durations(false);
    for (const server of [ceilingServer, engine]) await reserveLoad(server, 'warm-up', warmup, undefined, false);
    const ceilingLoads: LoadResult[] = [];
    const engineLoads: LoadResult[] = [];
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const ceilingLoad = await reserveLoad(ceilingServer, `ceiling, round ${round}`, ROUND_SECONDS);
      const engineLoad = await reserveLoad(engine, `${label}, round ${round}`, ROUND_SECONDS, undefined, true, drainOf(engine, env));
      ceilingLoads.push(ceilingLoad);
      engineLoads.push(engineLoad);
      ratios.push(Number((engineLoad.rps / ceilingLoad.rps).toFixed(3)));
      context.progress(`    ${label}, round ${round}: ${engineLoad.rps.toLocaleString('en')} req/s = ${ratios[round - 1].toFixed(2)} x ceiling (${ceilingLoad.rps.toLocaleString('en')})`);
    }
    return {
      load: combineLoads(label, engineLoads),
      ceilingLoad: combineLoads(`ceiling, in turns with ${label}`, ceilingLoads),
      ratios,
      view: await hotView(engine),
    };
  }, stock);
}

export const hotSku: Scenario = {
  name: 'hot-sku',
  description:
    'Reserve on one SKU with ample stock, 100 connections, against a freshly started engine (embedded Redis with appendfsync always, PGlite, reconciler draining every 5 s on its thread; each measured run ends with a pass that drains what is left of its holds, and its CPU time includes it), again with the reconciler paused to show the request path alone, and again on a SKU whose stock sits in three locations. Reported as ratios to the ceiling: a full run has the ceiling server and the engine take turns in 5 rounds of 3 s and reports the median of the rounds\' ratios (latency percentiles: the median of the rounds\'); --quick reads one engine run against the ceiling scenario.',
  async run(context): Promise<ScenarioResult> {
    let runs: EngineRun[];
    let ceilingRps: number;
    if (context.quick) {
      const ceilingResult = context.earlier.get('ceiling') ?? (await ceiling.run(context));
      context.earlier.set('ceiling', ceilingResult);
      ceilingRps = ceilingResult.figures.rps as number;
      runs = [await singleRun(context, 'hot-sku', {}), await singleRun(context, 'hot-sku, three locations', {}, THREE_LOCATIONS)];
      for (const run of runs) run.ratios = [Number((run.load.rps / ceilingRps).toFixed(3))];
    } else {
      const ceilingServer = await startCeiling();
      try {
        runs = [
          await alternatingRuns(context, ceilingServer, 'hot-sku', {}),
          await alternatingRuns(context, ceilingServer, 'hot-sku, reconciler paused', RECONCILER_PAUSED),
          await alternatingRuns(context, ceilingServer, 'hot-sku, three locations', {}, THREE_LOCATIONS),
        ];
      } finally {
        await ceilingServer.stop();
      }
      ceilingRps = combineLoads('ceiling', runs.map((run) => run.ceilingLoad!)).rps;
    }
    const checks = runs.flatMap(({ load, view }) => {
      const held = load.statusCounts['201'] ?? 0;
      return [
        check(`${load.label}: every reserve held a unit`, load.non2xx === 0 && load.errors === 0, `${load.non2xx} non-2xx, ${load.errors} errors`),
        check(
          `${load.label}: counters conserved and match the answers`,
          isConserved(view) && view.locations.every(isConserved) && view.reserved + view.sold >= held,
          `available ${view.available} + reserved ${view.reserved} + sold ${view.sold} = total ${view.total}; ${held} holds answered; ` +
            view.locations.map((l) => `${l.location} ${l.available}+${l.reserved}+${l.sold}=${l.total}`).join(', '),
        ),
      ];
    });
    const figuresOf = (run: EngineRun, prefix: string) => ({
      [`${prefix}rps`]: run.load.rps,
      [`${prefix}ratioToCeiling`]: median(run.ratios!),
      ...(run.ratios!.length > 1 && { [`${prefix}ratio per round`]: run.ratios!.join(' / ') }),
      [`${prefix}p99Ms`]: run.load.latency.p99,
    });
    return {
      name: 'hot-sku',
      description: this.description,
      loads: runs.flatMap((run) => [run.load, ...(run.ceilingLoad ? [run.ceilingLoad] : [])]),
      figures: {
        ceilingRps,
        ...figuresOf(runs[0], ''),
        ...Object.assign({}, ...runs.slice(1).map((run) => figuresOf(run, `${run.load.label.replace('hot-sku, ', '')}: `))),
      },
      checks,
    };
  },
};

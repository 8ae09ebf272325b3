import { readFileSync, writeFileSync } from 'node:fs';
import { type Server, admin, startCeiling } from '../lib/processes';
import { type LoadResult, combineLoads, median, runLoad } from '../lib/load';
import { type Scenario, check } from '../lib/types';
import { JSON_HEADERS, RESERVE_BODY, durations } from './settings';
import { hotView, withHotEngine } from './throughput';

/**
 * Full runs: per connection count, the ceiling and the engine take turns this many times, this many
 * seconds each; 5,000 clients take a second or two to connect, so their rounds are longer.
 */
const FULL: Plan = {
  levels: [
    { request: 'reserve', connections: 1_000, roundSeconds: 3 },
    { request: 'reserve', connections: 5_000, roundSeconds: 8 },
    { request: 'join', connections: 1_000, roundSeconds: 3 },
    { request: 'split', connections: 1_000, roundSeconds: 3 },
  ],
  rounds: 5,
};
const QUICK: Plan = {
  levels: [
    { request: 'reserve', connections: 1_000, roundSeconds: 2 },
    { request: 'join', connections: 1_000, roundSeconds: 2 },
    { request: 'split', connections: 1_000, roundSeconds: 2 },
  ],
  rounds: 1,
};

/** A reserve of the SKU whose last unit is held, a join of the line sold out for good, or a reserve of the split SKU whose last unit is held. */
type Refused = 'reserve' | 'join' | 'split';
interface Plan {
  levels: { request: Refused; connections: number; roundSeconds: number }[];
  rounds: number;
}

/** The lined SKU whose one unit was sold through its line: every join is refused SOLD_OUT. */
const LINED_SKU = 'sold-line';
const JOIN_BODY = JSON.stringify({ userId: 'u-1', qty: 1 });
/** The SKU split into as many buckets as the scale scenario's, whose one unit is held. */
const SPLIT_SKU = 'sold-split';
const SPLIT_BUCKETS = 12;
const ROUTES: Record<Refused, { path: string; body: string }> = {
  reserve: { path: '/v1/reservations', body: RESERVE_BODY },
  join: { path: `/v1/skus/${LINED_SKU}/line`, body: JOIN_BODY },
  split: { path: '/v1/reservations', body: JSON.stringify({ userId: 'u-1', orderId: 'o-1', items: [{ sku: SPLIT_SKU, qty: 1 }] }) },
};
/** The names the figures of each request type carry (reserves keep those they had before the others were measured). */
const FIGURE_PREFIX: Record<Refused, string> = { reserve: '', join: 'joins, ', split: `split SKU (${SPLIT_BUCKETS} buckets), ` };

const SOMAXCONN = '/proc/sys/net/core/somaxconn';
/** The accept queue 5,000 clients connecting at once need; the kernel caps every listen backlog at somaxconn. */
const WANTED_SOMAXCONN = 8192;

/** Writes somaxconn where this process may (root, a writable /proc/sys); else leaves it, and the figures say so. */
function writeSomaxconn(value: number): void {
  try {
    writeFileSync(SOMAXCONN, String(value));
  } catch {
    // Not allowed here.
  }
}

const readSomaxconn = () => Number(readFileSync(SOMAXCONN, 'utf8').trim());

/** The kernel's count of connections dropped for a full accept queue (TcpExt ListenOverflows), machine-wide. */
function listenOverflows(): number {
  const [names, values] = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((line) => line.startsWith('TcpExt:'));
  return Number(values.split(' ')[names.split(' ').indexOf('ListenOverflows')]);
}

const soldOutLoad = (server: Server, request: Refused, label: string, connections: number, seconds: number, measured = true) =>
  runLoad({ url: `${server.url}${ROUTES[request].path}`, method: 'POST', headers: JSON_HEADERS, body: ROUTES[request].body, connections, label, duration: seconds, cpu: measured ? server.cpu : undefined });

/** Creates the split SKU with one unit, and holds it. */
async function holdSplitUnit(engine: Server): Promise<void> {
  await admin(engine, 'PUT', `/v1/admin/skus/${SPLIT_SKU}`, { total: 1, buckets: SPLIT_BUCKETS });
  const holder = await fetch(`${engine.url}/v1/reservations`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ userId: 'split-holder', items: [{ sku: SPLIT_SKU, qty: 1 }], ttlSeconds: 3600 }) });
  if (holder.status !== 201) throw new Error(`holding the split SKU's unit answered ${holder.status}`);
}

/** Sells the lined SKU's one unit through its line. */
async function sellOutLine(engine: Server): Promise<void> {
  await admin(engine, 'PUT', `/v1/admin/skus/${LINED_SKU}`, { total: 1, line: { holdTtlSeconds: 600 } });
  const joined = await fetch(`${engine.url}/v1/skus/${LINED_SKU}/line`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ userId: 'buyer', qty: 1 }) });
  const ticket = await joined.json();
  if (ticket.status !== 'ADMITTED') throw new Error(`the line's buyer was answered ${joined.status} ${JSON.stringify(ticket)}`);
  const commit = await fetch(`${engine.url}/v1/reservations/${ticket.id}/commit`, { method: 'POST' });
  if (commit.status !== 200) throw new Error(`committing the line's unit answered ${commit.status}`);
}

export const soldOut: Scenario = {
  name: 'sold-out',
  description: `Reserves of a SKU whose last unit is held (every answer 409 INSUFFICIENT_STOCK), joins of a line whose one unit was sold (every answer 409 SOLD_OUT), and reserves of a SKU split into ${SPLIT_BUCKETS} buckets whose one unit is held, at ${FULL.levels.map((l) => `${l.request}s ${l.connections.toLocaleString('en')} connections (rounds of ${l.roundSeconds} s)`).join(', ')}, taking turns with the ceiling server's same route in ${FULL.rounds} rounds: the cost of a refusal against the bare route (docs/architecture.md#sold-out-answers). Both servers listen with the engine's backlog (LISTEN_BACKLOG); somaxconn is raised to ${WANTED_SOMAXCONN} where the bench may. --quick: ${QUICK.levels[0].connections.toLocaleString('en')} connections, one round of ${QUICK.levels[0].roundSeconds} s each.`,
  async run(context) {
    const plan = context.quick ? QUICK : FULL;
    const somaxconn = { before: readSomaxconn(), during: 0 };
    if (somaxconn.before < WANTED_SOMAXCONN) writeSomaxconn(WANTED_SOMAXCONN);
    somaxconn.during = readSomaxconn();
    const ceilingServer = await startCeiling();
    try {
      return await withHotEngine({}, async (engine) => {
        const holder = await fetch(`${engine.url}/v1/reservations`, { method: 'POST', headers: JSON_HEADERS, body: RESERVE_BODY });
        if (holder.status !== 201) throw new Error(`holding the last unit answered ${holder.status}`);
        await sellOutLine(engine);
        await holdSplitUnit(engine);
        const loads: LoadResult[] = [];
        const figures: Record<string, number | string> = { 'somaxconn before': somaxconn.before, 'somaxconn during': somaxconn.during };
        const answers = { reserve: { engine: 0, refused: 0 }, join: { engine: 0, refused: 0 }, split: { engine: 0, refused: 0 } };
        let otherFailures = 0;
        for (const { request, connections, roundSeconds } of plan.levels) {
          const overflowsBefore = listenOverflows();
          const { warmup } = durations(context.quick);
          for (const server of [ceilingServer, engine]) await soldOutLoad(server, request, 'warm-up', connections, warmup, false);
          const ceilingLoads: LoadResult[] = [];
          const engineLoads: LoadResult[] = [];
          const ratios: number[] = [];
          for (let round = 1; round <= plan.rounds; round++) {
            const ceilingLoad = await soldOutLoad(ceilingServer, request, `ceiling ${request}s, ${connections} connections, round ${round}`, connections, roundSeconds);
            const engineLoad = await soldOutLoad(engine, request, `sold-out ${request}s, ${connections} connections, round ${round}`, connections, roundSeconds);
            ceilingLoads.push(ceilingLoad);
            engineLoads.push(engineLoad);
            ratios.push(Number((engineLoad.rps / ceilingLoad.rps).toFixed(3)));
            context.progress(`    ${request}s, ${connections} connections, round ${round}: ${engineLoad.rps.toLocaleString('en')} refusals/s = ${ratios[round - 1].toFixed(2)} x ceiling (${ceilingLoad.rps.toLocaleString('en')})`);
          }
          const engineLoad = combineLoads(`sold-out ${request}s, ${connections} connections`, engineLoads);
          const ceilingLoad = combineLoads(`ceiling, in turns with sold-out ${request}s at ${connections} connections`, ceilingLoads);
          loads.push(engineLoad, ceilingLoad);
          answers[request].engine += engineLoad.requests;
          answers[request].refused += engineLoad.statusCounts['409'] ?? 0;
          otherFailures += engineLoad.errors + ceilingLoad.errors + ceilingLoad.non2xx;
          const at = `${FIGURE_PREFIX[request]}${connections} connections: `;
          figures[`${at}ratio to ceiling`] = median(ratios);
          if (ratios.length > 1) figures[`${at}ratio per round`] = ratios.join(' / ');
          figures[`${at}refusals/s`] = engineLoad.rps;
          figures[`${at}p99 ms`] = engineLoad.latency.p99;
          figures[`${at}ceiling p99 ms`] = ceilingLoad.latency.p99;
          figures[`${at}engine µs per refusal`] = engineLoad.cpu?.stages.engine ?? '';
          figures[`${at}redis µs per refusal`] = engineLoad.cpu?.stages.redis ?? '';
          figures[`${at}ceiling µs per request`] = ceilingLoad.cpu?.stages.engine ?? '';
          figures[`${at}listen overflows (machine-wide)`] = listenOverflows() - overflowsBefore;
        }
        const view = await hotView(engine);
        const line = await (await fetch(`${engine.url}/v1/skus/${LINED_SKU}`)).json();
        const split = await (await fetch(`${engine.url}/v1/skus/${SPLIT_SKU}`)).json();
        const refusedAll = (request: Refused) => answers[request].refused === answers[request].engine;
        return {
          name: 'sold-out',
          description: this.description,
          loads,
          figures,
          checks: [
            check('every engine answer 409 (INSUFFICIENT_STOCK to reserves, SOLD_OUT to joins), every ceiling answer 2xx', refusedAll('reserve') && refusedAll('join') && refusedAll('split') && otherFailures === 0, `reserves: ${answers.reserve.refused} of ${answers.reserve.engine} answers 409; joins: ${answers.join.refused} of ${answers.join.engine}; split SKU reserves: ${answers.split.refused} of ${answers.split.engine}; ${otherFailures} errors or non-2xx from the ceiling and connection errors`),
            check('the split SKU\'s held unit stays held', split.available === 0 && split.reserved === 1 && split.sold === 0 && split.buckets === SPLIT_BUCKETS, JSON.stringify({ available: split.available, reserved: split.reserved, sold: split.sold, buckets: split.buckets })),
            check('the held unit stays held, nothing else moved', view.available === 0 && view.reserved === 1 && view.sold === 0, JSON.stringify({ available: view.available, reserved: view.reserved, sold: view.sold, total: view.total })),
            check('the line sold its one unit and holds no ticket but the buyer\'s', line.sold === 1 && line.reserved === 0 && line.line?.waiting === 0 && line.line?.admitted === 1, JSON.stringify({ sold: line.sold, reserved: line.reserved, line: line.line })),
          ],
        };
      }, { total: 1 });
    } finally {
      await ceilingServer.stop();
      // The machine is left as it was found.
      if (somaxconn.during !== somaxconn.before) writeSomaxconn(somaxconn.before);
    }
  },
};

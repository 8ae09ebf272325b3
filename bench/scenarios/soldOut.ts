import { readFileSync, writeFileSync } from 'node:fs';
import { type Server, startCeiling } from '../lib/processes';
import { type LoadResult, combineLoads, median, runLoad } from '../lib/load';
import { type Scenario, check } from '../lib/types';
import { JSON_HEADERS, RESERVE_BODY, durations } from './settings';
import { hotView, withHotEngine } from './throughput';

/**
 * Full runs: per connection count, the ceiling and the engine take turns this many times, this many
 * seconds each; 5,000 clients take a second or two to connect, so their rounds are longer.
 */
const FULL = { levels: [{ connections: 1_000, roundSeconds: 3 }, { connections: 5_000, roundSeconds: 8 }], rounds: 5 };
const QUICK = { levels: [{ connections: 1_000, roundSeconds: 2 }], rounds: 1 };

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

const soldOutLoad = (server: Server, label: string, connections: number, seconds: number, measured = true) =>
  runLoad({ url: `${server.url}/v1/reservations`, method: 'POST', headers: JSON_HEADERS, body: RESERVE_BODY, connections, label, duration: seconds, cpu: measured ? server.cpu : undefined });

export const soldOut: Scenario = {
  name: 'sold-out',
  description: `Reserves of a SKU whose last unit is held (every answer 409 INSUFFICIENT_STOCK), at ${FULL.levels.map((l) => `${l.connections.toLocaleString('en')} connections (rounds of ${l.roundSeconds} s)`).join(' and ')}, taking turns with the ceiling server's reserve route in ${FULL.rounds} rounds: the cost of a refusal against the bare route (docs/architecture.md#sold-out-answers). Both servers listen with the engine's backlog (LISTEN_BACKLOG); somaxconn is raised to ${WANTED_SOMAXCONN} where the bench may. --quick: ${QUICK.levels[0].connections.toLocaleString('en')} connections, one round of ${QUICK.levels[0].roundSeconds} s.`,
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
        const loads: LoadResult[] = [];
        const figures: Record<string, number | string> = { 'somaxconn before': somaxconn.before, 'somaxconn during': somaxconn.during };
        let engineAnswers = 0;
        let refusals = 0;
        let otherFailures = 0;
        for (const { connections, roundSeconds } of plan.levels) {
          const overflowsBefore = listenOverflows();
          const { warmup } = durations(context.quick);
          for (const server of [ceilingServer, engine]) await soldOutLoad(server, 'warm-up', connections, warmup, false);
          const ceilingLoads: LoadResult[] = [];
          const engineLoads: LoadResult[] = [];
          const ratios: number[] = [];
          for (let round = 1; round <= plan.rounds; round++) {
            const ceilingLoad = await soldOutLoad(ceilingServer, `ceiling, ${connections} connections, round ${round}`, connections, roundSeconds);
            const engineLoad = await soldOutLoad(engine, `sold-out, ${connections} connections, round ${round}`, connections, roundSeconds);
            ceilingLoads.push(ceilingLoad);
            engineLoads.push(engineLoad);
            ratios.push(Number((engineLoad.rps / ceilingLoad.rps).toFixed(3)));
            context.progress(`    ${connections} connections, round ${round}: ${engineLoad.rps.toLocaleString('en')} refusals/s = ${ratios[round - 1].toFixed(2)} x ceiling (${ceilingLoad.rps.toLocaleString('en')})`);
          }
          const engineLoad = combineLoads(`sold-out, ${connections} connections`, engineLoads);
          const ceilingLoad = combineLoads(`ceiling, in turns with sold-out at ${connections} connections`, ceilingLoads);
          loads.push(engineLoad, ceilingLoad);
          engineAnswers += engineLoad.requests;
          refusals += engineLoad.statusCounts['409'] ?? 0;
          otherFailures += engineLoad.errors + ceilingLoad.errors + ceilingLoad.non2xx;
          const at = `${connections} connections: `;
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
        return {
          name: 'sold-out',
          description: this.description,
          loads,
          figures,
          checks: [
            check('every engine answer 409 INSUFFICIENT_STOCK, every ceiling answer 201', refusals === engineAnswers && otherFailures === 0, `${refusals} of ${engineAnswers} engine answers 409; ${otherFailures} errors or non-2xx from the ceiling and connection errors`),
            check('the held unit stays held, nothing else moved', view.available === 0 && view.reserved === 1 && view.sold === 0, JSON.stringify({ available: view.available, reserved: view.reserved, sold: view.sold, total: view.total })),
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

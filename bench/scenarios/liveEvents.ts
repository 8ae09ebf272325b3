import { isConserved } from '../../src/domain/sku';
import { type LoadResult, combineLoads } from '../lib/load';
import { BENCH_ADMIN_TOKEN, admin } from '../lib/processes';
import { PROBE_SKU, type StreamsReport } from '../lib/streamClients';
import { StreamClients } from '../lib/streams';
import { type Scenario, type ScenarioResult, check } from '../lib/types';
import { durations } from './settings';
import { hotView, reserveLoad, withHotEngine } from './throughput';

const IDLE_STREAMS = 10_000;
const HOT_STREAMS = 1_000;
/** The idle streams watch these SKUs, which nothing changes. */
const IDLE_SKUS = Array.from({ length: 100 }, (_, n) => `idle-${n}`);

export const liveEvents: Scenario = {
  name: 'live-events',
  description:
    `The hot-sku load on one engine, in rounds without and then with ${IDLE_STREAMS.toLocaleString('en')} idle Server-Sent Events streams plus ${HOT_STREAMS.toLocaleString('en')} on the hot SKU (held by a process of their own): reserve req/s with streams against without, in the same run; events delivered per second; and each event's delay, end to end, from an admin adjust of a probe SKU that every hot stream also watches (5 per second) to its arrival on the stream.`,
  async run(context): Promise<ScenarioResult> {
    const { seconds, warmup } = durations(context.quick);
    const rounds = context.quick ? 1 : 2;
    return withHotEngine({}, async (engine) => {
      for (const sku of IDLE_SKUS) await admin(engine, 'PUT', `/v1/admin/skus/${sku}`, { total: 100 });
      await admin(engine, 'PUT', `/v1/admin/skus/${PROBE_SKU}`, { total: 1 });
      await reserveLoad(engine, 'warm-up', warmup, undefined, false);
      const without: LoadResult[] = [];
      const withStreams: LoadResult[] = [];
      const reports: StreamsReport[] = [];
      const opened: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        without.push(await reserveLoad(engine, `hot-sku, no streams, round ${round}`, seconds, context.progress));
        const clients = StreamClients.start();
        try {
          const started = Date.now();
          opened.push(
            await clients.open({ url: engine.url, adminToken: BENCH_ADMIN_TOKEN, idle: { count: IDLE_STREAMS, skus: IDLE_SKUS }, hot: { count: HOT_STREAMS, sku: 'hot' } }),
          );
          context.progress(`    round ${round}: ${opened.at(-1)!.toLocaleString('en')} streams open in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          clients.measure();
          withStreams.push(await reserveLoad(engine, `hot-sku, ${(IDLE_STREAMS + HOT_STREAMS).toLocaleString('en')} streams, round ${round}`, seconds, context.progress));
          reports.push(await clients.report());
          const last = reports.at(-1)!;
          context.progress(`    round ${round}: ${Math.round(last.events / last.seconds).toLocaleString('en')} events/s, delay p99 ${last.delayMs.p99} ms`);
          await clients.close();
        } finally {
          clients.stop();
        }
      }
      const view = await hotView(engine);
      const plain = combineLoads('hot-sku, no streams', without);
      const streamed = combineLoads(`hot-sku, ${(IDLE_STREAMS + HOT_STREAMS).toLocaleString('en')} streams`, withStreams);
      const sum = (pick: (report: StreamsReport) => number) => reports.reduce((total, report) => total + pick(report), 0);
      const events = sum((r) => r.events);
      const held = plain.requests + streamed.requests;
      return {
        name: 'live-events',
        description: this.description,
        loads: [plain, streamed],
        figures: {
          rpsWithoutStreams: plain.rps,
          rpsWithStreams: streamed.rps,
          ratioWithToWithout: Number((streamed.rps / plain.rps).toFixed(3)),
          'ratio per round': without.map((load, n) => (withStreams[n].rps / load.rps).toFixed(3)).join(' / '),
          eventsPerSecond: Math.round(events / sum((r) => r.seconds)),
          probeEvents: sum((r) => r.probes),
          delayP50Ms: Math.max(...reports.map((r) => r.delayMs.p50)),
          delayP99Ms: Math.max(...reports.map((r) => r.delayMs.p99)),
          delayMaxMs: Math.max(...reports.map((r) => r.delayMs.max)),
          minProbeCoverage: Math.min(...reports.map((r) => r.probeCoverage)),
        },
        checks: [
          check('every stream opened', opened.every((n) => n === IDLE_STREAMS + HOT_STREAMS), `${opened.join(' / ')} of ${IDLE_STREAMS + HOT_STREAMS}`),
          check('no stream ended under load', reports.every((r) => r.ended === 0), reports.map((r) => `${r.ended} ended`).join(' / ')),
          check('every hot stream received probe events', reports.every((r) => r.probeCoverage > 0), reports.map((r) => `min coverage ${r.probeCoverage.toFixed(2)} of ${r.probeAdjusts} probes`).join(' / ')),
          check('every reserve held a unit', plain.non2xx + streamed.non2xx + plain.errors + streamed.errors === 0, `${plain.non2xx + streamed.non2xx} non-2xx, ${plain.errors + streamed.errors} errors`),
          check('hot SKU conserved', isConserved(view) && view.reserved + view.sold >= held, `available ${view.available} + reserved ${view.reserved} + sold ${view.sold} = total ${view.total}`),
        ],
      };
    });
  },
};

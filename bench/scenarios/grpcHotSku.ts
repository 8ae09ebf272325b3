import { createInventoryClient } from '../../src/grpc/client';
import { isConserved } from '../../src/domain/sku';
import { freePort } from '../../tools/freePort';
import { runGrpcReserveLoad } from '../lib/grpcLoad';
import { type LoadResult, combineLoads } from '../lib/load';
import type { Server } from '../lib/processes';
import { type Scenario, type ScenarioResult, check } from '../lib/types';
import { CONNECTIONS, RESERVE_BODY, durations } from './settings';
import { hotView, reserveLoad, withHotEngine } from './throughput';

/** Full runs: HTTP and gRPC take turns this many times on the same engine, so a drift of the machine's speed hits both. */
const ROUNDS = 3;

/** The reserve of hot-sku, as a gRPC request. */
const RESERVE_REQUEST = JSON.parse(RESERVE_BODY);

/** µs of engine CPU per request in a run (its processes summed). */
const engineUs = (load: LoadResult) => load.cpu?.stages.engine ?? NaN;

export const grpcHotSku: Scenario = {
  name: 'grpc-hot-sku',
  description: `The hot-sku reserve over gRPC (ReserveStock, ${CONNECTIONS} calls in flight on one channel from a bounded Node loop with @grpc/grpc-js) and over HTTP (autocannon, ${CONNECTIONS} connections) against one freshly started engine, taking turns (${ROUNDS} rounds in a full run, one in --quick): req/s and CPU per request of each, and the gRPC / HTTP ratios.`,
  async run(context): Promise<ScenarioResult> {
    const { seconds, warmup } = durations(context.quick);
    const rounds = context.quick ? 1 : ROUNDS;
    const roundSeconds = seconds / rounds;
    const grpcPort = await freePort();
    return withHotEngine({ GRPC_PORT: String(grpcPort) }, async (engine: Server) => {
      const client = createInventoryClient(`127.0.0.1:${grpcPort}`);
      try {
        const grpcLoad = (label: string, duration: number, measured = true) =>
          runGrpcReserveLoad({ label, client, request: RESERVE_REQUEST, concurrency: CONNECTIONS, duration, progress: context.progress, cpu: measured ? engine.cpu : undefined });
        await reserveLoad(engine, 'http warm-up', warmup, undefined, false);
        await grpcLoad('grpc warm-up', warmup, false);
        const httpLoads: LoadResult[] = [];
        const grpcLoads: LoadResult[] = [];
        for (let round = 1; round <= rounds; round++) {
          httpLoads.push(await reserveLoad(engine, `hot-sku over HTTP, round ${round}`, roundSeconds, context.progress));
          grpcLoads.push(await grpcLoad(`hot-sku over gRPC, round ${round}`, roundSeconds));
        }
        const http = combineLoads('hot-sku over HTTP', httpLoads);
        const grpc = combineLoads('grpc-hot-sku', grpcLoads);
        const view = await hotView(engine);
        const held = (http.statusCounts['201'] ?? 0) + (grpc.statusCounts.OK ?? 0);
        return {
          name: 'grpc-hot-sku',
          description: this.description,
          loads: [http, grpc],
          figures: {
            httpRps: http.rps,
            grpcRps: grpc.rps,
            grpcToHttpRps: Number((grpc.rps / http.rps).toFixed(3)),
            httpEngineUsPerRequest: engineUs(http),
            grpcEngineUsPerRequest: engineUs(grpc),
            grpcToHttpEngineCpu: Number((engineUs(grpc) / engineUs(http)).toFixed(3)),
            httpP99Ms: http.latency.p99,
            grpcP99Ms: grpc.latency.p99,
          },
          checks: [
            check('every reserve over HTTP held a unit', http.non2xx === 0 && http.errors === 0, `${http.non2xx} non-2xx, ${http.errors} errors`),
            check('every ReserveStock call held a unit', grpc.non2xx === 0, JSON.stringify(grpc.statusCounts)),
            check(
              'counters conserved and match the answers of both',
              isConserved(view) && view.locations.every(isConserved) && view.reserved + view.sold >= held,
              `available ${view.available} + reserved ${view.reserved} + sold ${view.sold} = total ${view.total}; ${held} holds answered (HTTP and gRPC)`,
            ),
          ],
        };
      } finally {
        client.close();
      }
    });
  },
};

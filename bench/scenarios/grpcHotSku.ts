import { createInventoryClient } from '../../src/grpc/client';
import { isConserved } from '../../src/domain/sku';
import { freePort } from '../../tools/freePort';
import { runGrpcReserveLoad } from '../lib/grpcLoad';
import { type LoadResult, combineLoads } from '../lib/load';
import { type Server, reconcileNow, startCeiling, startGrpcCeiling } from '../lib/processes';
import { type Scenario, type ScenarioResult, check } from '../lib/types';
import { CONNECTIONS, RESERVE_BODY, durations } from './settings';
import { hotView, reserveLoad, withHotEngine } from './throughput';

/** Full runs: the four servers' loads take turns this many times, so a drift of the machine's speed hits all of them. */
const ROUNDS = 3;

/** The reserve of hot-sku, as a gRPC request. */
const RESERVE_REQUEST = JSON.parse(RESERVE_BODY);

/** µs of a server's CPU per request in a run (its processes summed). */
const serverUs = (load: LoadResult) => load.cpu?.stages.engine ?? NaN;
const ratio = (a: number, b: number) => Number((a / b).toFixed(3));

/** The loads of one kind (HTTP or gRPC) against one server, round after round. */
type Turn = (label: string, seconds: number, measured?: boolean) => Promise<LoadResult>;

export const grpcHotSku: Scenario = {
  name: 'grpc-hot-sku',
  description: `The hot-sku reserve over gRPC (ReserveStock, ${CONNECTIONS} calls in flight on one channel from a bounded Node loop with @grpc/grpc-js) and over HTTP (autocannon, ${CONNECTIONS} connections) against one freshly started engine, and the same requests against each protocol's ceiling (each engine turn ends with a pass draining its holds, counted in its CPU time; the HTTP ceiling server, and a bare grpc-js server answering a fixed reservation with no work: what grpc-js itself costs), all four taking turns (${ROUNDS} rounds in a full run, one in --quick). Figures: req/s and server CPU per request of each, each protocol's ratio to its own ceiling, and gRPC / HTTP for the engine and for the ceilings.`,
  async run(context): Promise<ScenarioResult> {
    const { seconds, warmup } = durations(context.quick);
    const rounds = context.quick ? 1 : ROUNDS;
    const roundSeconds = seconds / rounds;
    const [enginePort, ceilingPort] = [await freePort(), await freePort()];
    const httpCeiling = await startCeiling();
    const grpcCeiling = await startGrpcCeiling(ceilingPort);
    try {
      return await withHotEngine({ GRPC_PORT: String(enginePort) }, async (engine: Server) => {
        const clients = [createInventoryClient(`127.0.0.1:${enginePort}`), createInventoryClient(`127.0.0.1:${ceilingPort}`)];
        try {
          // The engine's measured turns end with the drain of their holds, counted with them: else
          // one protocol's drain lands in the other's turn (see LoadOptions.settle).
          const settleOf = (server: Server) => (server === engine ? () => reconcileNow(engine) : undefined);
          const grpcTurn =
            (server: Server, client: (typeof clients)[number]): Turn =>
            (label, duration, measured = true) =>
              runGrpcReserveLoad({ label, client, request: RESERVE_REQUEST, concurrency: CONNECTIONS, duration, progress: context.progress, cpu: measured ? server.cpu : undefined, settle: measured ? settleOf(server) : undefined });
          const httpTurn =
            (server: Server): Turn =>
            (label, duration, measured = true) =>
              reserveLoad(server, label, duration, measured ? context.progress : undefined, measured, measured ? settleOf(server) : undefined);
          const turns: [string, Turn][] = [
            ['HTTP ceiling', httpTurn(httpCeiling)],
            ['hot-sku over HTTP', httpTurn(engine)],
            ['gRPC ceiling', grpcTurn(grpcCeiling, clients[1])],
            ['grpc-hot-sku', grpcTurn(engine, clients[0])],
          ];
          for (const [label, turn] of turns) await turn(`${label} warm-up`, warmup, false);
          const loads = turns.map((): LoadResult[] => []);
          for (let round = 1; round <= rounds; round++) {
            for (const [n, [label, turn]] of turns.entries()) loads[n].push(await turn(`${label}, round ${round}`, roundSeconds));
          }
          const [httpCeilingLoad, http, grpcCeilingLoad, grpc] = turns.map(([label], n) => combineLoads(label, loads[n]));
          const view = await hotView(engine);
          const held = (http.statusCounts['201'] ?? 0) + (grpc.statusCounts.OK ?? 0);
          return {
            name: 'grpc-hot-sku',
            description: this.description,
            loads: [httpCeilingLoad, http, grpcCeilingLoad, grpc],
            figures: {
              httpRps: http.rps,
              grpcRps: grpc.rps,
              grpcToHttpRps: ratio(grpc.rps, http.rps),
              httpToCeiling: ratio(http.rps, httpCeilingLoad.rps),
              grpcToGrpcCeiling: ratio(grpc.rps, grpcCeilingLoad.rps),
              httpEngineUsPerRequest: serverUs(http),
              grpcEngineUsPerRequest: serverUs(grpc),
              grpcToHttpEngineCpu: ratio(serverUs(grpc), serverUs(http)),
              httpCeilingUsPerRequest: serverUs(httpCeilingLoad),
              grpcCeilingUsPerRequest: serverUs(grpcCeilingLoad),
              grpcToHttpCeilingCpu: ratio(serverUs(grpcCeilingLoad), serverUs(httpCeilingLoad)),
              // The engine's own work per request over each protocol: its CPU less its ceiling's.
              httpEngineWorkUs: Number((serverUs(http) - serverUs(httpCeilingLoad)).toFixed(1)),
              grpcEngineWorkUs: Number((serverUs(grpc) - serverUs(grpcCeilingLoad)).toFixed(1)),
              httpP99Ms: http.latency.p99,
              grpcP99Ms: grpc.latency.p99,
            },
            checks: [
              check('every reserve over HTTP held a unit', http.non2xx === 0 && http.errors === 0, `${http.non2xx} non-2xx, ${http.errors} errors`),
              check('every ReserveStock call held a unit', grpc.non2xx === 0, JSON.stringify(grpc.statusCounts)),
              check('both ceilings answered every call', httpCeilingLoad.non2xx + httpCeilingLoad.errors + grpcCeilingLoad.non2xx === 0, `HTTP ${httpCeilingLoad.non2xx} non-2xx; gRPC ${JSON.stringify(grpcCeilingLoad.statusCounts)}`),
              check(
                'counters conserved and match the answers of both',
                isConserved(view) && view.locations.every(isConserved) && view.reserved + view.sold >= held,
                `available ${view.available} + reserved ${view.reserved} + sold ${view.sold} = total ${view.total}; ${held} holds answered (HTTP and gRPC)`,
              ),
            ],
          };
        } finally {
          for (const client of clients) client.close();
        }
      });
    } finally {
      await Promise.all([httpCeiling.stop(), grpcCeiling.stop()]);
    }
  },
};

import { startThrowawayPostgres } from '../../tools/throwawayPostgres';
import { startThrowawayRedis } from '../../tools/throwawayRedis';
import { Redis } from 'ioredis';
import { postgresTarget, redisPid } from '../lib/cpu';
import { startStrategyServer } from '../lib/processes';
import { type LoadResult, runLoad } from '../lib/load';
import { type Check, type Scenario, check } from '../lib/types';
import { CONNECTIONS, JSON_HEADERS, durations } from './settings';

const STRATEGIES = ['lua', 'for-update', 'optimistic', 'redis-lock'] as const;
const SPREAD_SKUS = 1000;

export const strategies: Scenario = {
  name: 'strategies',
  description: `The same reserve request served by four backends: the Lua engine, Postgres SELECT … FOR UPDATE, Postgres optimistic version column, and a Redis SET NX lock; on one hot SKU and spread over ${SPREAD_SKUS} SKUs. Oversell counted for each.`,
  async run(context) {
    const { seconds, warmup } = durations(context.quick);
    const [redis, postgres] = await Promise.all([startThrowawayRedis(), startThrowawayPostgres()]);
    const loads: LoadResult[] = [];
    const checks: Check[] = [];
    const figures: Record<string, number> = {};
    // The four servers start together (their start-up is most of this scenario's time in --quick)
    // and are measured one after the other; an idle one costs nothing meanwhile.
    const started = await Promise.allSettled(STRATEGIES.map((strategy) => startStrategyServer({ STRATEGY: strategy, REDIS_URL: redis.url, DATABASE_URL: postgres.url })));
    const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      // Both stores are read in every run: a backend that does not use one shows it idle.
      const client = new Redis(redis.url);
      const stores = [{ kind: 'process' as const, pid: await redisPid(client).finally(() => client.disconnect()), stage: 'redis' as const, name: 'redis' }, await postgresTarget(postgres.url)];
      for (const [index, strategy] of STRATEGIES.entries()) {
        const server = servers[index];
        // --quick measures the hot SKU only, to stay within a minute.
        const shapes = context.quick ? ([['hot', 1]] as const) : ([['hot', 1], ['spread', SPREAD_SKUS]] as const);
        for (const [shape, skuCount] of shapes) {
          const skus = Array.from({ length: skuCount }, (_, n) => `sku-${n}`);
          await fetch(`${server.url}/setup`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ skus, total: 10_000_000 }) });
          let n = 0;
          const options = {
            url: server.url,
            connections: CONNECTIONS,
            requests: [
              {
                method: 'POST' as const,
                path: '/reserve',
                headers: JSON_HEADERS,
                setupRequest: (request: object) => ({ ...request, body: JSON.stringify({ sku: skus[n++ % skuCount], userId: `u-${n}`, qty: 1 }) }),
              },
            ],
          };
          await runLoad({ ...options, label: `${strategy} ${shape} warm-up`, duration: warmup });
          const load = await runLoad({ ...options, label: `${strategy} ${shape}`, duration: seconds, progress: context.progress, cpu: server.cpu.with(...stores) });
          loads.push(load);
          const tally = await (await fetch(`${server.url}/check`)).json();
          figures[`${strategy} ${shape} rps`] = load.rps;
          figures[`${strategy} ${shape} oversold`] = tally.oversold;
          checks.push(check(`${strategy} ${shape}: 0 oversold`, tally.oversold === 0, `${tally.held} held, ${tally.initial - tally.available} taken from the counters`));
        }
      }
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
      await Promise.all([redis.stop(), postgres.stop()]);
    }
    figures['lua / for-update, hot'] = Number((figures['lua hot rps'] / Math.max(1, figures['for-update hot rps'])).toFixed(1));
    return { name: 'strategies', description: this.description, loads, figures, checks };
  },
};

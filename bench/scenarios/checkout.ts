import { isConserved } from '../../src/domain/sku';
import { admin, startEngine } from '../lib/processes';
import { runLoad } from '../lib/load';
import { type Scenario, check } from '../lib/types';
import { CONNECTIONS, JSON_HEADERS, durations } from './settings';

interface Flow {
  shopper?: number;
  id?: string;
  action?: 'commit' | 'release';
}

/** One in ten shoppers gives up; the others pay. */
const RELEASE_SHARE = 0.1;

export const checkout: Scenario = {
  name: 'checkout',
  description: `The way a checkout mixes calls: reserve, then commit (${(1 - RELEASE_SHARE) * 100}%) or release (${RELEASE_SHARE * 100}%), over 50 SKUs, 100 connections.`,
  async run(context) {
    const { seconds } = durations(context.quick);
    const server = await startEngine();
    try {
      for (let n = 0; n < 50; n++) await admin(server, 'PUT', `/v1/admin/skus/item-${n}`, { total: 10_000_000 });
      let shoppers = 0;
      let commits = 0;
      let releases = 0;
      let unitsCommitted = 0;
      const load = await runLoad({
        label: 'checkout',
        url: server.url,
        connections: CONNECTIONS,
        duration: seconds,
        progress: context.progress,
        cpu: server.cpu,
        initialContext: {},
        requests: [
          {
            method: 'POST',
            path: '/v1/reservations',
            headers: JSON_HEADERS,
            setupRequest: (request, context) => {
              const flow = context as Flow;
              flow.shopper = ++shoppers;
              flow.id = undefined;
              const items = [{ sku: `item-${shoppers % 50}`, qty: 1 + (shoppers % 2) }];
              return { ...request, body: JSON.stringify({ userId: `u-${shoppers}`, orderId: `o-${shoppers}`, items }) };
            },
            onResponse: (status, body, context) => {
              const flow = context as Flow;
              if (status === 201) flow.id = JSON.parse(body).id;
            },
          },
          {
            method: 'POST',
            setupRequest: (request, context) => {
              const flow = context as Flow;
              flow.action = Math.random() < RELEASE_SHARE ? 'release' : 'commit';
              return { ...request, path: `/v1/reservations/${flow.id ?? 'missing'}/${flow.action}` };
            },
            onResponse: (status, body, context) => {
              const flow = context as Flow;
              if (status !== 200) return;
              if (flow.action === 'release') {
                releases += 1;
                return;
              }
              commits += 1;
              for (const item of JSON.parse(body).items) unitsCommitted += item.reserved;
            },
          },
        ],
      });
      const views = await Promise.all(Array.from({ length: 50 }, async (_, n) => (await fetch(`${server.url}/v1/skus/item-${n}`)).json()));
      const sold = views.reduce((sum, view) => sum + view.sold, 0);
      const conserved = views.every(isConserved);
      return {
        name: 'checkout',
        description: this.description,
        loads: [load],
        figures: { rps: load.rps, commits, releases, unitsSold: sold },
        checks: [
          check('no errors', load.non2xx === 0 && load.errors === 0, `${load.non2xx} non-2xx, ${load.errors} errors`),
          check('counters conserved on every SKU', conserved, `${views.length} SKUs checked`),
          // A commit still in flight when the load stopped is sold without its answer being counted.
          check('sold units match the commits answered', sold >= unitsCommitted && sold - unitsCommitted <= 2 * CONNECTIONS, `${sold} units sold, ${unitsCommitted} units in ${commits} commit answers`),
        ],
      };
    } finally {
      await server.stop();
    }
  },
};

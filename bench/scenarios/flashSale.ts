import { admin, startEngine } from '../lib/processes';
import { runLoad } from '../lib/load';
import { type Scenario, check } from '../lib/types';
import { JSON_HEADERS } from './settings';

const UNITS = 100;

export const flashSale: Scenario = {
  name: 'flash-sale',
  description: `${UNITS} units, 1000 connections, 20k attempts by distinct shoppers: exactly ${UNITS} holds, nobody oversold, counters conserved.`,
  async run(context) {
    const attempts = 20_000;
    const server = await startEngine();
    try {
      await admin(server, 'PUT', '/v1/admin/skus/flash', { total: UNITS });
      let shopper = 0;
      const load = await runLoad({
        label: 'flash-sale',
        url: server.url,
        connections: 1000,
        amount: attempts,
        progress: context.progress,
        cpu: server.cpu,
        requests: [
          {
            method: 'POST',
            path: '/v1/reservations',
            headers: JSON_HEADERS,
            setupRequest: (request) => {
              shopper += 1;
              return { ...request, body: JSON.stringify({ userId: `shopper-${shopper}`, orderId: `o-${shopper}`, items: [{ sku: 'flash', qty: 1 }] }) };
            },
          },
        ],
      });
      const view = await (await fetch(`${server.url}/v1/skus/flash`)).json();
      const held = load.statusCounts['201'] ?? 0;
      const soldOut = load.statusCounts['409'] ?? 0;
      const oversold = Math.max(0, view.reserved + view.sold - UNITS, held - UNITS);
      return {
        name: 'flash-sale',
        description: this.description,
        loads: [load],
        figures: { attempts: load.requests, successes: held, soldOut, oversold },
        checks: [
          check(`exactly ${UNITS} successes`, held === UNITS, `${held} answered 201`),
          check('0 oversold', oversold === 0, `${oversold} units beyond the ${UNITS} on sale`),
          check('every other attempt answered 409 INSUFFICIENT_STOCK', soldOut === attempts - UNITS && load.errors === 0, `${soldOut} answered 409, ${load.errors} errors, ${load.requests} answers`),
          check('counters conserved afterwards', view.available === 0 && view.reserved === UNITS && view.available + view.reserved + view.sold === view.total, JSON.stringify(view)),
        ],
      };
    } finally {
      await server.stop();
    }
  },
};

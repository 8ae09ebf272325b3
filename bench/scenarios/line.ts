import { setTimeout as sleep } from 'node:timers/promises';
import { isConserved } from '../../src/domain/sku';
import { type Join, LineShoppers } from '../lib/lineShoppers';
import { type LoadResult, combineLoads, median } from '../lib/load';
import { type Server, admin, startCeiling, startEngine } from '../lib/processes';
import { type Scenario, type ScenarioResult, check } from '../lib/types';

/** The full run as docs/benchmarks.md describes it, and --quick's much smaller one (CI runs it). */
const FULL = { shoppers: 50_000, units: 1_000, connections: 1_000, holdTtlSeconds: 2, rounds: 5, pollers: 16, settleSeconds: 120 };
const QUICK = { shoppers: 3_000, units: 100, connections: 100, holdTtlSeconds: 2, rounds: 1, pollers: 4, settleSeconds: 30 };
const SKU = 'line';

/** A ticket as the shoppers saw it joining, and as it ended. */
interface Outcome {
  join: Join;
  /** Redis time of the join, and of the admission (its hold's createdAt). */
  joinedAt: number;
  admittedAt?: number;
  status: string;
  hold?: { status: string; expiresAt: number };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : NaN;
};

/** How many of `sorted` are below `t` (`strict`) or at most `t`. */
function countBelow(sorted: number[], t: number, strict: boolean): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >> 1;
    if (strict ? sorted[middle] < t : sorted[middle] <= t) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Admissions in line order, from the shoppers' side: a join answered before another was sent is
 * ahead of it, so when the later one is admitted the earlier one must have been admitted already
 * (no earlier one ends SOLD_OUT while a later one is admitted: every ticket wants one unit).
 */
function orderBreaches(outcomes: Outcome[]): string[] {
  const byAnswer = [...outcomes].sort((a, b) => a.join.t1 - b.join.t1);
  const answeredAt = byAnswer.map((o) => o.join.t1);
  // latest[i]: the ticket admitted last, or one never admitted, among the first i + 1 answered.
  const latest: Outcome[] = [];
  const rank = (o: Outcome) => o.admittedAt ?? Infinity;
  byAnswer.forEach((o, i) => latest.push(i && rank(latest[i - 1]) > rank(o) ? latest[i - 1] : o));
  const breaches: string[] = [];
  for (const later of byAnswer) {
    if (later.admittedAt === undefined) continue;
    const before = countBelow(answeredAt, later.join.t0, true);
    const earlier = before ? latest[before - 1] : undefined;
    if (earlier && rank(earlier) > later.admittedAt)
      breaches.push(`shopper ${later.join.shopper} admitted at ${later.admittedAt} though shopper ${earlier.join.shopper}, answered before it joined, ${earlier.admittedAt ? `was admitted at ${earlier.admittedAt}` : `ended ${earlier.status}`}`);
  }
  return breaches;
}

/**
 * A position is a promise: a join answered WAITING with `unitsAhead` u (each ticket wants one
 * unit, nobody leaves) is admitted after exactly u more admissions, or, never admitted, sees at
 * most u. Admission times are milliseconds: ties count either way.
 */
function brokenPromises(outcomes: Outcome[]): string[] {
  const admissions = outcomes.flatMap((o) => (o.admittedAt === undefined ? [] : [o.admittedAt])).sort((a, b) => a - b);
  const broken: string[] = [];
  for (const o of outcomes) {
    if (o.join.ticket?.status !== 'WAITING') continue;
    const promised = o.join.ticket.unitsAhead as number;
    const end = o.admittedAt ?? Infinity;
    const atLeast = countBelow(admissions, end, true) - countBelow(admissions, o.joinedAt, false);
    const atMost = countBelow(admissions, end, false) - countBelow(admissions, o.joinedAt, true) - (o.admittedAt === undefined ? 0 : 1);
    const kept = o.admittedAt === undefined ? atLeast <= promised : atLeast <= promised && promised <= atMost;
    if (!kept) broken.push(`shopper ${o.join.shopper} was told ${promised} units ahead, ${o.status} after ${atLeast}..${atMost} admissions`);
  }
  return broken;
}

/**
 * Units come back only when an admitted hold expires (nobody releases), and each goes to the next
 * ticket: the k-th expiry feeds the (units + k)-th admission. The delays, ms (Redis time), from an
 * expiry to the admission it fed.
 */
function returnDelays(outcomes: Outcome[], units: number): number[] {
  const expiries = outcomes.flatMap((o) => (o.hold?.status === 'EXPIRED' ? [o.hold.expiresAt] : [])).sort((a, b) => a - b);
  const admissions = outcomes.flatMap((o) => (o.admittedAt === undefined ? [] : [o.admittedAt])).sort((a, b) => a - b);
  return expiries.flatMap((expiry, k) => (units + k < admissions.length ? [admissions[units + k] - expiry] : []));
}

const view = async (server: Server, sku: string) => (await fetch(`${server.url}/v1/skus/${sku}`)).json();

/**
 * The SKU's units held back by one hold while the line forms: a sale opening its doors. (A lobby
 * would do it too, but shuffles its tickets, and the order of arrival is what the checks prove.)
 */
async function holdBack(engine: Server, plan: typeof FULL): Promise<string> {
  await admin(engine, 'PUT', `/v1/admin/skus/${SKU}`, { total: plan.units });
  const response = await fetch(`${engine.url}/v1/reservations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: 'doors', items: [{ sku: SKU, qty: plan.units }], ttlSeconds: 3600 }),
  });
  const doors = await response.json();
  if (response.status !== 201) throw new Error(`holding the units back: ${JSON.stringify(doors)}`);
  await admin(engine, 'PUT', `/v1/admin/skus/${SKU}`, { total: plan.units, line: { holdTtlSeconds: plan.holdTtlSeconds } });
  return doors.id;
}

export const line: Scenario = {
  name: 'line',
  description: `${FULL.shoppers.toLocaleString('en')} distinct shoppers join the waiting line of a ${FULL.units.toLocaleString('en')}-unit SKU at ${FULL.connections.toLocaleString('en')} connections while its units are held back; then the units are released at once (a sale opening its doors) and admitted shoppers commit (90 %) or walk away (10 %: the hold, ${FULL.holdTtlSeconds} s, expires and its unit goes to the next ticket), found by ${FULL.pollers} pollers reading the tickets nearest the head, until every unit is sold and every other ticket ends SOLD_OUT. Joins are measured against the ceiling server's join route in ${FULL.rounds} alternating rounds. --quick: ${QUICK.shoppers.toLocaleString('en')} shoppers, ${QUICK.units} units, ${QUICK.connections} connections, one round.`,
  async run(context): Promise<ScenarioResult> {
    const plan = context.quick ? QUICK : FULL;
    const ceilingServer = await startCeiling();
    const engine = await startEngine();
    try {
      const doors = await holdBack(engine, plan);
      // Warm-up (JIT, connections) on a line of its own: one admitted, the others waiting.
      await admin(engine, 'PUT', '/v1/admin/skus/warm-up', { total: 1, line: { holdTtlSeconds: 3600 } });
      const warmUp = Math.min(2_000, plan.shoppers / 5);
      const warming = new LineShoppers(engine, 'warm-up', { pollers: 0, window: 0, pollPauseMs: 0 });
      for (const server of [ceilingServer, engine]) await warming.joinLoad(server, 'warm-up', warmUp, plan.connections, undefined, false);

      const shoppers = new LineShoppers(engine, SKU, { pollers: plan.pollers, window: 100, pollPauseMs: 5 });
      const ceilingLoads: LoadResult[] = [];
      const engineLoads: LoadResult[] = [];
      const steady: { engine: number; ceiling: number }[] = [];
      const ratios: number[] = [];
      const perRound = Math.ceil(plan.shoppers / plan.rounds);
      for (let round = 1; round <= plan.rounds; round++) {
        const amount = Math.min(perRound, plan.shoppers - perRound * (round - 1));
        const ceilingRun = await shoppers.joinLoad(ceilingServer, `ceiling join, round ${round}`, amount, plan.connections);
        const engineRun = await shoppers.joinLoad(engine, `line join, round ${round}`, amount, plan.connections, context.progress);
        ceilingLoads.push(ceilingRun.load);
        engineLoads.push(engineRun.load);
        steady.push({ engine: engineRun.steadyRps, ceiling: ceilingRun.steadyRps });
        ratios.push(Number((engineRun.steadyRps / ceilingRun.steadyRps).toFixed(3)));
        context.progress(
          `    line join, round ${round}: steady ${engineRun.steadyRps.toLocaleString('en')} req/s = ${ratios[round - 1].toFixed(2)} x ceiling (${ceilingRun.steadyRps.toLocaleString('en')}); whole run ${engineRun.load.rps.toLocaleString('en')} and ${ceilingRun.load.rps.toLocaleString('en')}`,
        );
      }
      // Doors open: the release admits the head of the line in the same step. Admitted shoppers
      // pay or walk away, and units come back, until every unit is sold (the rest then end SOLD_OUT).
      shoppers.start();
      const opened = Date.now();
      await admin(engine, 'POST', `/v1/reservations/${doors}/release`);
      const releaseMs = Date.now() - opened;
      const deadline = opened + plan.settleSeconds * 1000;
      let final = await view(engine, SKU);
      while (Date.now() < deadline && !(final.sold >= plan.units && final.line?.waiting === 0)) {
        await sleep(250);
        final = await view(engine, SKU);
      }
      await shoppers.stop();
      const sellingSeconds = (Date.now() - opened) / 1000;
      context.progress(`    doors opened: every unit sold and the line ended in ${sellingSeconds.toFixed(1)} s`);
      const { load: readLoad, tickets } = await shoppers.readAll('line: every ticket read at the end', context.progress);
      final = await view(engine, SKU);

      const joins = [...shoppers.joins.values()];
      const outcomes: Outcome[] = joins.flatMap((join) => {
        const ticket = join.ticket && tickets.get(join.ticket.id);
        if (!ticket) return [];
        const hold = ticket.reservation;
        return [{ join, joinedAt: Date.parse(ticket.joinedAt), admittedAt: hold ? Date.parse(hold.createdAt) : undefined, status: ticket.status, hold: hold && { status: hold.status, expiresAt: Date.parse(hold.expiresAt) } }];
      });
      const count = (pick: (o: Outcome) => boolean) => outcomes.filter(pick).length;
      const admitted = count((o) => o.status === 'ADMITTED');
      const soldOut = count((o) => o.status === 'SOLD_OUT');
      const committed = count((o) => o.hold?.status === 'COMMITTED');
      const expired = count((o) => o.hold?.status === 'EXPIRED');
      const order = orderBreaches(outcomes);
      const promises = brokenPromises(outcomes);
      const delays = returnDelays(outcomes, plan.units);
      const joinLoad = combineLoads('line join', engineLoads);
      const ceilingLoad = combineLoads('ceiling join, in turns with it', ceilingLoads);
      const answered = joinLoad.statusCounts['202'] ?? 0;
      const others = outcomes.length - admitted;
      return {
        name: 'line',
        description: this.description,
        loads: [joinLoad, ceilingLoad, readLoad],
        figures: {
          shoppers: joins.length,
          units: plan.units,
          'ceiling join req/s, steady (median of rounds)': median(steady.map((r) => r.ceiling)),
          'join req/s, steady (median of rounds)': median(steady.map((r) => r.engine)),
          joinRatioToCeiling: median(ratios),
          ...(ratios.length > 1 && { 'joinRatio per round': ratios.join(' / ') }),
          'join req/s, whole runs (accept-queue retries included)': joinLoad.rps,
          'ceiling join req/s, whole runs': ceilingLoad.rps,
          joinP99Ms: joinLoad.latency.p99,
          'engine CPU µs per join': joinLoad.cpu?.stages.engine ?? 'n/a',
          'redis CPU µs per join': joinLoad.cpu?.stages.redis ?? 'n/a',
          'release of the held-back units (admits the head of the line) ms': releaseMs,
          's from the doors opening to the last ticket ended': Number(sellingSeconds.toFixed(1)),
          'tickets admitted': admitted,
          'holds committed': committed,
          'walked away (of those the pollers saw admitted)': shoppers.walkedAway,
          'holds expired (walked away, or admitted unseen)': expired,
          'expiry to next admission p50 ms': percentile(delays, 50),
          'expiry to next admission p99 ms': percentile(delays, 99),
          'expiry to next admission max ms': percentile(delays, 100),
          'slowest commit ms (the last unit sold ends the line)': Math.max(0, ...shoppers.commitMs),
          'ticket polls': shoppers.polls,
        },
        checks: [
          check('every join answered 202 (distinct shoppers)', answered === joinLoad.requests && joinLoad.errors === 0 && outcomes.length === joins.length, `${answered} of ${joinLoad.requests} answered 202, ${joinLoad.errors} errors, ${outcomes.length} tickets read back of ${joins.length}`),
          check(`exactly ${plan.units} sold`, final.sold === plan.units && committed === plan.units && shoppers.commits === plan.units, `sold ${final.sold}; ${committed} holds read COMMITTED, ${shoppers.commits} commits answered 200`),
          check('counters conserved, nothing left held', isConserved(final) && final.reserved === 0 && final.available === 0, JSON.stringify(final)),
          check('every other ticket SOLD_OUT', soldOut === others && final.line?.waiting === 0, `${admitted} ADMITTED, ${soldOut} SOLD_OUT of the ${others} others; line ${JSON.stringify(final.line)}`),
          check('admissions in line order', order.length === 0, order.length ? `${order.length} breaches, first: ${order[0]}` : `${admitted} admissions, none before a ticket answered ahead of it`),
          check('every position a join answered was kept', promises.length === 0, promises.length ? `${promises.length} broken, first: ${promises[0]}` : `${count((o) => o.join.ticket?.status === 'WAITING')} joins answered WAITING`),
          check('every unit that came back went to the next ticket', admitted === plan.units + expired && delays.every((d) => d >= 0), `${admitted} admitted = ${plan.units} + ${expired} expired holds; shortest expiry-to-admission ${percentile(delays, 0)} ms`),
        ],
      };
    } finally {
      await engine.stop();
      await ceilingServer.stop();
    }
  },
};

/**
 * Refusals of a sold-out SKU (joins of a line sold out for good) answered without a round trip
 * (src/redis/soldOutWatch.ts) keep their bound: a unit that comes back, by a release or an adjust through the engine itself or through
 * another one, or by the expiry of a hold, is offered within SOLD_OUT_BOUND_MS. Many clients keep
 * reserving the last unit of a SKU through one of two engines on one Redis (and on the cluster)
 * while the unit is held; at a seeded moment it comes back. Every reserve sent more than the bound after that moment is held or refused only
 * because another reserve, already sent by then, took the unit. And many refusals were answered
 * from what the engine knew, so the bound is tested, not bypassed. The engines' reads run on a
 * thread of their own, as `npm start` runs them, and on the request thread. A line's units come
 * back only by an operator's change: many clients keep joining a line sold out for good until an
 * adjust, and every join sent more than the bound after it gets a ticket. The same holds for a SKU
 * split into buckets (src/domain/buckets.ts), whose unit may come back in any bucket: every bucket
 * is watched, and the SKU is answered from their sum.
 * Replay a seed with SOLD_OUT_SEED=<seed> npx vitest run test/services/sold-out-refusals.test.ts
 */
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../chaos/lib/random';
import { bucketSkus } from '../../src/domain/buckets';
import { SOLD_OUT_BOUND_MS } from '../../src/redis/soldOutReads';
import { REDIS_TARGETS, type TestContext, adminHeaders, createSku, createTwoEngines, uniqueName } from '../support/context';
import { call } from '../support/http';

const seed = process.env.SOLD_OUT_SEED ? Number(process.env.SOLD_OUT_SEED) : Math.floor(Math.random() * 2 ** 31);

/** Clients reserving at once, through the first engine. */
const CLIENTS = 48;
/** Refusals at least before a unit comes back by a release or an adjust. */
const REFUSALS_BEFORE = 1_000;
/** Clock granularity between the test's Date.now() and Redis TIME (one machine). */
const SLACK_MS = 2;

interface Attempt {
  sentAt: number;
  answeredAt: number;
  status: number;
}

type Return = 'release here' | 'release by the other engine' | 'adjust by the other engine' | 'adjust here' | 'expiry';
const RETURNS: Return[] = ['release here', 'release by the other engine', 'adjust by the other engine', 'adjust here', 'expiry'];

/** Where the engines' sold-out reads run: their own thread (how `npm start` runs them) and the request thread. */
const READS = ['own-thread', 'this-thread'] as const;

describe.each(REDIS_TARGETS.flatMap((redis) => READS.map((reads) => [redis, reads] as const)))('on %s Redis, two engines, sold-out reads on %s', (redis, reads) => {
  let engines: TestContext[];
  let close: () => Promise<void>;
  const random = new Random(seed);

  beforeAll(async () => {
    const two = await createTwoEngines(redis, reads);
    engines = [two.ctx, two.other];
    close = two.close;
  });
  afterAll(async () => {
    agent.destroy();
    await close();
  });

  const reserve = (engine: TestContext, sku: string, userId: string, ttlSeconds?: number) =>
    call(engine.baseUrl, 'POST', '/v1/reservations', { userId, items: [{ sku, qty: 1 }], ...(ttlSeconds && { ttlSeconds }) });

  // The clients' reserves: kept-alive connections and no body parsing, so thousands fit in a few seconds.
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const reserveStatus = (engine: TestContext, sku: string, userId: string, qty = 1) =>
    new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ userId, items: [{ sku, qty }] });
      const sent = request(`${engine.baseUrl}/v1/reservations`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      sent.on('error', reject);
      sent.end(body);
    });

  it('answers what the script would: the same body, the limit checked first, keyed reserves asked of Redis', async () => {
    const [engine] = engines;
    const sku = uniqueName('limited-');
    await createSku(engine, sku, { total: 1, perUserLimit: 2 });
    expect((await reserve(engine, sku, 'holder')).status).toBe(201);
    const cachedCount = () => engine.engine.soldOut.refusedHere;
    const fromRedis = await reserve(engine, sku, 'shopper');
    expect(fromRedis.status).toBe(409);
    // Under a limit a user is answered without Redis once the script refused them for stock after
    // the watch saw the SKU sold out (it reads every 25 ms): asked until then, the same answer each time.
    let answeredHere = false;
    for (let n = 0; n < 50 && !answeredHere; n++) {
      const before = cachedCount();
      expect((await reserve(engine, sku, 'shopper')).body).toEqual(fromRedis.body);
      answeredHere = cachedCount() > before;
      if (!answeredHere) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(answeredHere, 'answered without Redis').toBe(true);
    // Operators read the same count on /metrics.
    const scrape = (await engine.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/^flashsale_sold_out_answers_total (\d+)$/m.exec(scrape)?.[1])).toBe(cachedCount());
    expect(fromRedis.body.error.details).toEqual({ items: [{ sku, requested: 1, available: 0 }] });
    // The holder would pass the limit with 2 more: the script says so before it looks at the stock.
    const before = cachedCount();
    const overLimit = await call(engine.baseUrl, 'POST', '/v1/reservations', { userId: 'holder', items: [{ sku, qty: 2 }] });
    expect(overLimit.body.error.code).toBe('PURCHASE_LIMIT_EXCEEDED');
    // Nor is one asking more than they were refused answered here (the script decides).
    const more = await call(engine.baseUrl, 'POST', '/v1/reservations', { userId: 'shopper', items: [{ sku, qty: 2 }] });
    expect(more.body.error.code).toBe('INSUFFICIENT_STOCK');
    const keyed = await call(engine.baseUrl, 'POST', '/v1/reservations', { userId: 'shopper', items: [{ sku, qty: 1 }] }, { 'idempotency-key': uniqueName('k-') });
    expect(keyed.body.error.code).toBe('INSUFFICIENT_STOCK');
    expect(cachedCount(), `seed ${seed}`).toBe(before);
  });

  it('a refusal told from what the engine knows names the units left after a reserve of its own, split or not', async () => {
    const [engine] = engines;
    const asking = (sku: string, userId: string, qty: number) => call(engine.baseUrl, 'POST', '/v1/reservations', { userId, items: [{ sku, qty }] });
    const watched = () => new Promise((resolve) => setTimeout(resolve, 150));
    for (const split of [false, true]) {
      const sku = uniqueName(split ? 'split-detail-' : 'detail-');
      await createSku(engine, sku, split ? { total: 6, buckets: 3 } : { total: 2 });
      // A refusal starts the watch: the SKU's for an unsplit one, a bucket's for a split one (5 is more than a bucket holds).
      if (split) expect((await asking(sku, 'big', 5)).status).toBe(201);
      else expect((await asking(sku, 'big', 3)).status).toBe(409);
      await watched();
      // 1 unit left (split) or 2: one more is taken here, after the watch posted what it read.
      expect((await asking(sku, 'small', 1)).status).toBe(201);
      const left = (await call(engine.baseUrl, 'GET', `/v1/skus/${sku}`)).body.available;
      for (let n = 0; n < 3; n++) {
        const refused = await asking(sku, 'late', 3);
        expect(refused.body.error, `${sku}, ask ${n}`).toEqual(expect.objectContaining({ code: 'INSUFFICIENT_STOCK', details: { items: [{ sku, requested: 3, available: left }] } }));
        await watched();
      }
    }
  });

  const cases = RETURNS.flatMap((how) => [[how, 1], [how, 3]] as const);
  it.each(cases)(`a unit that comes back by %s, the SKU in %i bucket(s), is held by a reserve sent within the bound (seed ${seed})`, async (how, buckets) => {
    const sku = uniqueName('last-');
    await createSku(engines[0], sku, { total: 1, ...(buckets > 1 && { buckets }) });
    const holder = await reserve(engines[0], sku, 'holder', how === 'expiry' ? 2 : undefined);
    expect(holder.status).toBe(201);
    const cachedBefore = engines.reduce((sum, e) => sum + e.engine.soldOut.refusedHere, 0);

    // The moment the unit comes back: an expiry is its expiresAt; a release or an adjust, the answer to it (an upper bound).
    const returnDelayMs = random.int(500, 1_500);
    let returnedAt = how === 'expiry' ? Date.parse(holder.body.expiresAt) : Number.POSITIVE_INFINITY;
    const attempts: Attempt[] = [];
    let held = false;
    const giveUpAt = Date.now() + 5_000;
    // All through the first engine: a unit given back through the other must reach it within the bound.
    const clients = Array.from({ length: CLIENTS }, async (_, n) => {
      while ((!held || Date.now() < returnedAt + 2 * SOLD_OUT_BOUND_MS) && Date.now() < giveUpAt) {
        const sentAt = Date.now();
        const status = await reserveStatus(engines[0], sku, `u${n}`);
        attempts.push({ sentAt, answeredAt: Date.now(), status });
        if (status === 201) held = true;
        else expect(status).toBe(409);
      }
    });
    const returning = (async () => {
      // Not before a thousand refusals (the first case also warms the engines up).
      const returnAt = Date.now() + returnDelayMs;
      while (how !== 'expiry' && (Date.now() < returnAt || attempts.length < REFUSALS_BEFORE)) await new Promise((resolve) => setTimeout(resolve, 5));
      const [here, other] = engines;
      if (how === 'release here' || how === 'release by the other engine') {
        const answer = await call((how === 'release here' ? here : other).baseUrl, 'POST', `/v1/reservations/${holder.body.id}/release`);
        expect(answer.status).toBe(200);
      } else if (how === 'adjust here' || how === 'adjust by the other engine') {
        const answer = await call((how === 'adjust here' ? here : other).baseUrl, 'POST', `/v1/admin/skus/${sku}/adjust`, { delta: 1, reason: 'restock' }, adminHeaders);
        expect(answer.status).toBe(200);
      }
      if (how !== 'expiry') returnedAt = Date.now();
    })();
    await Promise.all([...clients, returning]);

    const winners = attempts.filter((a) => a.status === 201);
    expect(winners, `seed ${seed}`).toHaveLength(1);
    const [winner] = winners;
    // Refused after the bound, and before the winner was even sent: the unit was there, unoffered.
    // What the engine itself gives back is offered at once; what another engine or time gives back, within the bound.
    const deadline = returnedAt + (how.endsWith('here') ? 0 : SOLD_OUT_BOUND_MS) + SLACK_MS;
    const wrongful = attempts.filter((a) => a.status === 409 && a.sentAt > deadline && a.answeredAt < winner.sentAt);
    expect(wrongful, `seed ${seed}: returned at +0, held by a reserve sent at +${winner.sentAt - returnedAt} ms; refused though sent after the bound (${wrongful.length}, the first): ${wrongful.slice(0, 10).map((a) => `+${a.sentAt - returnedAt}`).join(', ')}`).toEqual([]);
    // Many refusals were answered from what the engine knew (fewer on a loaded machine, where its watch runs late).
    const refusals = attempts.filter((a) => a.status === 409).length;
    const cached = engines.reduce((sum, e) => sum + e.engine.soldOut.refusedHere, 0) - cachedBefore;
    expect(refusals, `seed ${seed}`).toBeGreaterThan(REFUSALS_BEFORE);
    expect(cached, `seed ${seed}: ${cached} of ${refusals} refusals answered without Redis`).toBeGreaterThan(refusals / 5);
  });
  it(`a split SKU's last unit, moving between its buckets, is never refused from what the engine knows (seed ${seed})`, async () => {
    const [engine, other] = engines;
    const sku = uniqueName('moving-');
    await createSku(engine, sku, { total: 1, buckets: 3 });
    const names = bucketSkus(sku, 3);
    const cachedBefore = engine.engine.soldOut.refusedHere;
    const until = Date.now() + 2_500;
    const wrongful: string[] = [];
    let probes = 0;
    let held = 0;
    // Two units asked of one: refused for good, which keeps the SKU watched and answered from here
    // (by Redis, a refusal counts the buckets twice, and answers 503 after eight counts that a
    // move came between: the moves here are far more frequent than refills make them).
    const answers = new Map<number, number>();
    const askers = Array.from({ length: CLIENTS / 2 }, async (_, n) => {
      while (Date.now() < until) {
        const status = await reserveStatus(engine, sku, `asker-${n}`, 2);
        answers.set(status, (answers.get(status) ?? 0) + 1);
      }
    });
    // The unit moves on all the while: the buckets are read in several calls, and a move between
    // two reads of one round would show the unit in neither.
    const mover = (async () => {
      while (Date.now() < until) {
        const from = random.int(0, 2);
        await engine.reconciler.moveUnits(names[from], names[(from + random.int(1, 2)) % 3], 1, '');
        await new Promise((resolve) => setTimeout(resolve, random.int(0, 20)));
      }
    })();
    // Now and then one unit is asked for: it is always somewhere, so it is held (then let go
    // through the other engine, and asked for again only after the bound).
    const prober = (async () => {
      while (Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, SOLD_OUT_BOUND_MS + random.int(20, 120)));
        const answer = await reserve(engine, sku, `prober-${probes++}`);
        // A 503 (the unit kept moving under eight tries) refuses nothing: the prober asks again.
        if (answer.status === 409) wrongful.push(`probe ${probes}: ${JSON.stringify(answer.body)}`);
        else if (answer.status === 201) {
          held += 1;
          expect((await call(other.baseUrl, 'POST', `/v1/reservations/${answer.body.id}/release`)).status).toBe(200);
        } else expect(answer.status).toBe(503);
      }
    })();
    await Promise.all([...askers, mover, prober]);
    expect(wrongful, `seed ${seed}`).toEqual([]);
    expect(held).toBeGreaterThan(5);
    expect([...answers.keys()].filter((status) => status !== 409 && status !== 503)).toEqual([]);
    expect(engine.engine.soldOut.refusedHere - cachedBefore, `seed ${seed}: refusals answered without Redis`).toBeGreaterThan(100);
  });

  const joinStatus = (engine: TestContext, sku: string, userId: string) =>
    new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ userId, qty: 1 });
      const sent = request(`${engine.baseUrl}/v1/skus/${sku}/line`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      sent.on('error', reject);
      sent.end(body);
    });

  /** A lined SKU of one unit, sold to `buyer` through its line: sold out for good. */
  const soldOutLine = async (engine: TestContext, sku: string, buyer: string) => {
    await createSku(engine, sku, { total: 1, line: { holdTtlSeconds: 60 } });
    const joined = await call(engine.baseUrl, 'POST', `/v1/skus/${sku}/line`, { userId: buyer, qty: 1 });
    expect(joined.body.status).toBe('ADMITTED');
    expect((await call(engine.baseUrl, 'POST', `/v1/reservations/${joined.body.id}/commit`)).status).toBe(200);
    return joined.body.id as string;
  };

  it('answers a sold-out line\'s joins as the script would: a user with a ticket gets it, anyone else SOLD_OUT', async () => {
    const [engine] = engines;
    const sku = uniqueName('line-');
    await createSku(engine, sku, { total: 1, line: { holdTtlSeconds: 60 } });
    const buyer = await call(engine.baseUrl, 'POST', `/v1/skus/${sku}/line`, { userId: 'buyer', qty: 1 });
    // Joined behind the admitted buyer: waiting, until the buyer's commit sells the last unit.
    const waiting = await call(engine.baseUrl, 'POST', `/v1/skus/${sku}/line`, { userId: 'waiting', qty: 1 });
    expect(waiting.body.status).toBe('WAITING');
    expect((await call(engine.baseUrl, 'POST', `/v1/reservations/${buyer.body.id}/commit`)).status).toBe(200);
    const cachedCount = () => engine.engine.soldOut.refusedHere;
    const fromRedis = await call(engine.baseUrl, 'POST', `/v1/skus/${sku}/line`, { userId: 'late', qty: 1 });
    expect(fromRedis.status).toBe(409);
    expect(fromRedis.body.error).toMatchObject({ code: 'SOLD_OUT', details: { sku, unitsLeft: 0 } });
    let answeredHere = false;
    for (let n = 0; n < 50 && !answeredHere; n++) {
      const before = cachedCount();
      expect(await call(engine.baseUrl, 'POST', `/v1/skus/${sku}/line`, { userId: `late-${n}`, qty: 1 })).toMatchObject({ status: 409, body: fromRedis.body });
      answeredHere = cachedCount() > before;
      if (!answeredHere) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(answeredHere, 'answered without Redis').toBe(true);
    // Those with a ticket are answered with it, by Redis, however the line ended for them.
    const before = cachedCount();
    const again = await call(engine.baseUrl, 'POST', `/v1/skus/${sku}/line`, { userId: 'waiting', qty: 1 });
    expect(again).toMatchObject({ status: 200, body: { id: waiting.body.id, status: 'SOLD_OUT' } });
    const bought = await call(engine.baseUrl, 'POST', `/v1/skus/${sku}/line`, { userId: 'buyer', qty: 1 });
    expect(bought).toMatchObject({ status: 200, body: { id: buyer.body.id, status: 'ADMITTED', reservation: { status: 'COMMITTED' } } });
    expect(cachedCount()).toBe(before);
    // One refused before is refused from here again.
    expect((await call(engine.baseUrl, 'POST', `/v1/skus/${sku}/line`, { userId: 'late-0', qty: 1 })).body).toEqual(fromRedis.body);
    expect(cachedCount()).toBe(before + 1);
  });

  it.each(['adjust here', 'adjust by the other engine'] as const)(`a line sold out for good that gets a unit back by %s lets in every join sent after the bound (seed ${seed})`, async (how) => {
    const sku = uniqueName('line-');
    await soldOutLine(engines[0], sku, 'buyer');
    const cachedBefore = engines.reduce((sum, e) => sum + e.engine.soldOut.refusedHere, 0);
    const returnDelayMs = random.int(500, 1_500);
    let returnedAt = Number.POSITIVE_INFINITY;
    const attempts: Attempt[] = [];
    const giveUpAt = Date.now() + 5_000;
    const clients = Array.from({ length: CLIENTS }, async (_, n) => {
      while (Date.now() < returnedAt + 2 * SOLD_OUT_BOUND_MS && Date.now() < giveUpAt) {
        const sentAt = Date.now();
        const status = await joinStatus(engines[0], sku, `u${n}`);
        attempts.push({ sentAt, answeredAt: Date.now(), status });
        expect([200, 202, 409]).toContain(status);
      }
    });
    const returning = (async () => {
      const returnAt = Date.now() + returnDelayMs;
      while (Date.now() < returnAt || attempts.length < REFUSALS_BEFORE) await new Promise((resolve) => setTimeout(resolve, 5));
      const answer = await call((how === 'adjust here' ? engines[0] : engines[1]).baseUrl, 'POST', `/v1/admin/skus/${sku}/adjust`, { delta: 1, reason: 'restock' }, adminHeaders);
      expect(answer.status).toBe(200);
      returnedAt = Date.now();
    })();
    await Promise.all([...clients, returning]);

    // The unit came back for good (unsold again): every join sent after the bound gets a ticket.
    const deadline = returnedAt + (how === 'adjust here' ? 0 : SOLD_OUT_BOUND_MS) + SLACK_MS;
    const wrongful = attempts.filter((a) => a.status === 409 && a.sentAt > deadline);
    expect(wrongful, `seed ${seed}: refused though sent after the bound (${wrongful.length}, the first): ${wrongful.slice(0, 10).map((a) => `+${a.sentAt - returnedAt}`).join(', ')}`).toEqual([]);
    expect(attempts.filter((a) => a.status === 202).length, `seed ${seed}`).toBeGreaterThan(0);
    const refusals = attempts.filter((a) => a.status === 409).length;
    const cached = engines.reduce((sum, e) => sum + e.engine.soldOut.refusedHere, 0) - cachedBefore;
    expect(refusals, `seed ${seed}`).toBeGreaterThan(REFUSALS_BEFORE);
    expect(cached, `seed ${seed}: ${cached} of ${refusals} refusals answered without Redis`).toBeGreaterThan(refusals / 5);
  });
});

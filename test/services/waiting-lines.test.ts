/**
 * Waiting lines (docs/api.md#waiting-lines-fair-queues-for-hot-skus) against a running engine on
 * one Redis and on the cluster: a lined SKU is reserved only through its line; tickets are
 * admitted strictly in line order, in the same step that makes units available (release, expiry,
 * adjust, PUT), each exactly once and never after leaving; tickets that can no longer be served
 * end SOLD_OUT; lobby tickets are shuffled uniformly at startsAt; removing the line closes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainError } from '../../src/domain/errors';
import type { TicketOutcome } from '../../src/redis/lineOperations';
import { REDIS_TARGETS, type TestContext, adminHeaders, createTestContext, skuIn, uniqueName } from '../support/context';

type Json = Record<string, any>;

describe.each(REDIS_TARGETS)('waiting lines on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  const send = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) => {
    const answer = await ctx.app.inject({ method, url, headers: adminHeaders, ...(payload ? { payload } : {}) });
    return { status: answer.statusCode, body: answer.json() as Json };
  };
  const linedSku = async (total: number, line: object = { holdTtlSeconds: 60 }, extra: object = {}) => {
    const sku = uniqueName('lined-');
    expect((await send('PUT', `/v1/admin/skus/${sku}`, { total, line, ...extra })).status).toBe(201);
    return sku;
  };
  const join = (sku: string, userId: string, qty = 1) => send('POST', `/v1/skus/${sku}/line`, { userId, qty });
  const ticket = async (id: string) => (await send('GET', `/v1/line-tickets/${id}`)).body;
  /** Joins of many users, 200 at a time; their answers' bodies in order. */
  const joinMany = async (sku: string, users: { userId: string; qty: number }[]) => {
    const bodies: Json[] = [];
    for (let n = 0; n < users.length; n += 200) bodies.push(...(await Promise.all(users.slice(n, n + 200).map((u) => join(sku, u.userId, u.qty)))).map((answer) => answer.body));
    return bodies;
  };
  /** The status letters Redis stores for these tickets (of one SKU), read without serving the line. */
  const stored = async (sku: string, of: Json[]) =>
    (await ctx.redis.hmget(ctx.keys.tickets(ctx.keys.partitionOfSku(sku)), ...of.map((t) => t.id))).map((text) => text!.split('|')[0]);
  const endedAs = async (status: string, sku: string, of: Json[]) => (await stored(sku, of)).filter((letter) => letter === status).length;
  /** Every one of these tickets ends `status` within `ms` of now (the line watch running). */
  const allEndWithin = async (status: string, sku: string, of: Json[], ms: number) => {
    const since = Date.now();
    while ((await endedAs(status, sku, of)) < of.length && Date.now() - since < 5000) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await endedAs(status, sku, of)).toBe(of.length);
    expect(Date.now() - since).toBeLessThan(ms);
  };

  it('a lined SKU is reserved only through its line; the view shows the line', async () => {
    const sku = await linedSku(3);
    const reserve = await send('POST', '/v1/reservations', { userId: 'u', items: [{ sku, qty: 1 }] });
    expect(reserve.status).toBe(409);
    expect(reserve.body.error).toMatchObject({ code: 'LINE_REQUIRED', details: { sku, join: `/v1/skus/${sku}/line` } });
    expect((await send('GET', `/v1/skus/${sku}`)).body).toMatchObject({ total: 3, available: 3, line: { waiting: 0, admitted: 0, holdTtlSeconds: 60, lobbySeconds: 0 } });
    // Not lined: no line, and joining it is refused.
    const plain = uniqueName('plain-');
    await send('PUT', `/v1/admin/skus/${plain}`, { total: 1 });
    expect((await send('GET', `/v1/skus/${plain}`)).body.line).toBeNull();
    expect((await join(plain, 'u')).body.error.code).toBe('LINE_NOT_FOUND');
  });

  it('admits in line order as units come back (release, expiry, adjust), once per ticket, never after leaving', async () => {
    const sku = await linedSku(2, { holdTtlSeconds: 1 });
    const joined = [];
    for (const user of ['a', 'b', 'c', 'd', 'e']) joined.push(await join(sku, user));
    expect(joined.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);
    const [a, b, c, d, e] = joined.map((answer) => answer.body);
    expect([a.status, b.status]).toEqual(['ADMITTED', 'ADMITTED']);
    expect(a.reservation).toMatchObject({ id: a.id, status: 'PENDING', userId: 'a', items: [{ sku, qty: 1, reserved: 1 }] });
    expect([c, d, e].map((t) => [t.status, t.position, t.unitsAhead, t.unitsLeft])).toEqual([
      ['WAITING', 1, 0, 2],
      ['WAITING', 2, 1, 2],
      ['WAITING', 3, 2, 2],
    ]);
    // Joining again answers the same ticket.
    const again = await join(sku, 'c');
    expect([again.status, again.body.id]).toEqual([200, c.id]);
    // d leaves: e moves up, d is never admitted.
    expect((await send('DELETE', `/v1/line-tickets/${d.id}`)).body).toMatchObject({ status: 'LEFT' });
    expect(await ticket(e.id)).toMatchObject({ status: 'WAITING', position: 2, unitsAhead: 1 });
    // a releases: its unit goes to c in the same step.
    await send('POST', `/v1/reservations/${a.id}/release`);
    expect(await ticket(c.id)).toMatchObject({ status: 'ADMITTED', reservation: { id: c.id, status: 'PENDING' } });
    // b's hold expires (1 s): e is admitted when the line is next served.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await ticket(e.id)).toMatchObject({ status: 'ADMITTED' });
    expect(await ticket(d.id)).toMatchObject({ status: 'LEFT', reservation: null });
    expect((await send('GET', `/v1/reservations/${b.id}`)).body.status).toBe('EXPIRED');
    // An adjust adds a unit: nobody waits, so it stays available.
    const view = (await send('POST', `/v1/admin/skus/${sku}/adjust`, { delta: 1, reason: 'restock' })).body;
    expect(view).toMatchObject({ total: 3, line: { waiting: 0 } });
    expect((await send('GET', `/v1/skus/${sku}`)).body.line).toMatchObject({ waiting: 0, admitted: 4 });
  });

  it('an admitted hold that runs out goes to the next ticket within a second, though nobody calls the engine', async () => {
    const sku = await linedSku(1, { holdTtlSeconds: 1 });
    const first = (await join(sku, 'first')).body;
    const next = (await join(sku, 'next')).body;
    expect([first.status, next.status]).toEqual(['ADMITTED', 'WAITING']);
    // Read the ticket straight from Redis: a read through the engine would serve the line itself.
    const stored = async () => (await ctx.redis.hget(ctx.keys.tickets(ctx.keys.partitionOfTicket(next.id)), next.id))!.split('|')[0];
    const expiresAt = Date.parse(first.reservation.expiresAt);
    while ((await stored()) === 'W' && Date.now() < expiresAt + 3000) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await stored()).toBe('A');
    expect(Date.now() - expiresAt).toBeLessThan(1000);
    expect(await ticket(next.id)).toMatchObject({ status: 'ADMITTED', reservation: { status: 'PENDING' } });
  });

  it('strict order: a head wanting 2 is not passed by one wanting 1; a release and an adjust admit them in turn', async () => {
    const sku = await linedSku(2, { holdTtlSeconds: 60 }, { perUserLimit: 2 });
    const first = (await join(sku, 'first')).body;
    const big = (await join(sku, 'big', 2)).body;
    const small = (await join(sku, 'small', 1)).body;
    expect(first.status).toBe('ADMITTED');
    // One unit available: big (2) waits at the head, and small (1) waits behind it.
    expect(big).toMatchObject({ status: 'WAITING', position: 1, unitsAhead: 0 });
    expect(small).toMatchObject({ status: 'WAITING', position: 2, unitsAhead: 2 });
    expect((await send('GET', `/v1/skus/${sku}`)).body).toMatchObject({ available: 1, line: { waiting: 2, admitted: 1 } });
    await send('POST', `/v1/reservations/${first.id}/release`);
    expect(await ticket(big.id)).toMatchObject({ status: 'ADMITTED', reservation: { items: [{ qty: 2, reserved: 2 }] } });
    expect(await ticket(small.id)).toMatchObject({ status: 'WAITING', position: 1, unitsAhead: 0 });
    await send('POST', `/v1/admin/skus/${sku}/adjust`, { delta: 1, reason: 'restock' });
    expect(await ticket(small.id)).toMatchObject({ status: 'ADMITTED' });
    // A head that leaves lets the next ticket in, in the same step (read straight from Redis).
    const wants2 = (await join(sku, 'wants2', 2)).body;
    const wants1 = (await join(sku, 'wants1', 1)).body;
    await send('POST', `/v1/reservations/${small.id}/release`);
    expect([(await ticket(wants2.id)).status, (await ticket(wants1.id)).status]).toEqual(['WAITING', 'WAITING']);
    await send('DELETE', `/v1/line-tickets/${wants2.id}`);
    expect((await ctx.redis.hget(ctx.keys.tickets(ctx.keys.partitionOfTicket(wants1.id)), wants1.id))!.split('|')[0]).toBe('A');
    // The per-user limit counts what the user holds; a ticket wanting more than can ever be unsold is refused.
    expect((await join(sku, 'big', 2)).status).toBe(200);
    expect((await join(sku, 'limited', 3)).body.error.code).toBe('PURCHASE_LIMIT_EXCEEDED');
    expect((await join(sku, 'greedy', 4)).body.error).toMatchObject({ code: 'SOLD_OUT', details: { unitsLeft: 3 } });
  });

  it('when units run out for good every waiting ticket ends SOLD_OUT, and joins are refused', async () => {
    const sku = await linedSku(2);
    const tickets = [];
    for (const user of ['a', 'b', 'c', 'd']) tickets.push((await join(sku, user)).body);
    for (const admitted of tickets.slice(0, 2)) expect((await send('POST', `/v1/reservations/${admitted.id}/commit`)).body.status).toBe('COMMITTED');
    for (const waiting of tickets.slice(2)) expect(await ticket(waiting.id)).toMatchObject({ status: 'SOLD_OUT', position: null, unitsLeft: 0 });
    const late = await join(sku, 'late');
    expect([late.status, late.body.error.code]).toEqual([409, 'SOLD_OUT']);
    expect((await send('GET', `/v1/skus/${sku}`)).body).toMatchObject({ sold: 2, line: { waiting: 0, admitted: 2 } });
  });

  it('a sale that runs out ends a long line SOLD_OUT in bounded calls, all within a second; a read meanwhile is told SOLD_OUT', async () => {
    // The most one script call ends or looks at (LINE_END_LIMIT, lua/includes/line.lua).
    const BOUND = 500;
    const sku = await linedSku(3, { holdTtlSeconds: 60 }, { perUserLimit: 2 });
    const [one, two] = [(await join(sku, 'one', 1)).body, (await join(sku, 'two', 2)).body];
    expect([one.status, two.status]).toEqual(['ADMITTED', 'ADMITTED']);
    // 2,400 waiting tickets wanting 1 and 2 units in turn.
    const waiting = await joinMany(sku, Array.from({ length: 2400 }, (_, n) => ({ userId: `w${n}`, qty: 1 + (n % 2) })));
    expect(waiting.every((t) => t.status === 'WAITING')).toBe(true);
    const wants = (qty: number) => waiting.filter((t) => t.qty === qty);
    const watch = ctx.app.runtime.lineWatch;

    // The line watch stopped, what the commit's own call ended is what the statuses show.
    await watch.stop();
    try {
      // 1 unit left unsold: the tickets wanting 2 can no longer be served, those wanting 1 can.
      expect((await send('POST', `/v1/reservations/${two.id}/commit`)).body.status).toBe('COMMITTED');
      const byCommit = await endedAs('S', sku, waiting);
      expect(byCommit).toBeGreaterThan(0);
      expect(byCommit).toBeLessThanOrEqual(BOUND);
      // A ticket not yet ended is told SOLD_OUT when read (and ended then); one wanting 1 waits on.
      const notYet = wants(2)[wants(2).length - 1];
      expect((await stored(sku, [notYet]))[0]).toBe('W');
      expect(await ticket(notYet.id)).toMatchObject({ status: 'SOLD_OUT', position: null, unitsLeft: 1 });
      expect((await join(sku, notYet.userId, 2)).body).toMatchObject({ id: notYet.id, status: 'SOLD_OUT' });
      expect((await ticket(wants(1)[0].id)).status).toBe('WAITING');
    } finally {
      watch.watch();
    }
    await allEndWithin('S', sku, wants(2), 1000);
    expect(await stored(sku, wants(1))).toEqual(wants(1).map(() => 'W'));
    expect(await ticket(wants(1)[1].id)).toMatchObject({ status: 'WAITING', position: 2, unitsAhead: 1 });
    // The last unit sold: every other ticket ends, the watch running, within a second of the commit.
    await send('POST', `/v1/reservations/${one.id}/commit`);
    await allEndWithin('S', sku, wants(1), 1000);
    expect((await join(sku, 'late')).body.error.code).toBe('SOLD_OUT');
    expect((await send('GET', `/v1/skus/${sku}`)).body).toMatchObject({ sold: 3, line: { waiting: 0, admitted: 2 } });
  }, 60_000);

  it('the line watch drops a SKU without a line, or without a stock record, from the line-due index', async () => {
    const plain = uniqueName('plain-');
    await send('PUT', `/v1/admin/skus/${plain}`, { total: 1 });
    const unknown = uniqueName('unknown-');
    for (const sku of [plain, unknown]) await ctx.redis.zadd(ctx.keys.lineDue(ctx.keys.partitionOfSku(sku)), 0, sku);
    await new Promise((resolve) => setTimeout(resolve, 600));
    for (const sku of [plain, unknown]) expect(await ctx.redis.zscore(ctx.keys.lineDue(ctx.keys.partitionOfSku(sku)), sku)).toBeNull();
  });

  it('removing the line closes its waiting tickets; the SKU is reserved directly again', async () => {
    const sku = await linedSku(1);
    const held = (await join(sku, 'a')).body;
    const waiting = (await join(sku, 'b')).body;
    expect((await send('PATCH', `/v1/admin/skus/${sku}`, { line: null })).status).toBe(200);
    expect(await ticket(waiting.id)).toMatchObject({ status: 'CLOSED' });
    expect(await ticket(held.id)).toMatchObject({ status: 'ADMITTED' });
    await send('POST', `/v1/reservations/${held.id}/release`);
    const direct = (await send('POST', '/v1/reservations', { userId: 'c', items: [{ sku, qty: 1 }] })).body;
    expect(direct.status).toBe('PENDING');
    // A line set again starts afresh: b gets a new ticket, not the closed one.
    await send('POST', `/v1/reservations/${direct.id}/release`);
    expect((await send('PATCH', `/v1/admin/skus/${sku}`, { line: { holdTtlSeconds: 30 } })).body.line).toMatchObject({ waiting: 0, holdTtlSeconds: 30 });
    const again = await join(sku, 'b');
    expect([again.status, again.body.status, again.body.id === waiting.id]).toEqual([202, 'ADMITTED', false]);
  });

  it('removing a long line closes its tickets in bounded calls, all within a second; a read meanwhile is told CLOSED; a line set again starts empty', async () => {
    // The most one script call ends (LINE_END_LIMIT, lua/includes/line.lua).
    const BOUND = 500;
    const sku = await linedSku(1);
    const held = (await join(sku, 'held')).body;
    expect(held.status).toBe('ADMITTED');
    const waiting = await joinMany(sku, Array.from({ length: 1600 }, (_, n) => ({ userId: `w${n}`, qty: 1 })));
    expect(waiting.every((t) => t.status === 'WAITING')).toBe(true);
    const watch = ctx.app.runtime.lineWatch;

    // The line watch stopped, what the PATCH's own call closed is what the statuses show.
    await watch.stop();
    try {
      expect((await send('PATCH', `/v1/admin/skus/${sku}`, { line: null })).body.line).toBeNull();
      const byPatch = await endedAs('C', sku, waiting);
      expect(byPatch).toBeGreaterThan(0);
      expect(byPatch).toBeLessThanOrEqual(BOUND);
      const notYet = waiting[waiting.length - 1];
      expect((await stored(sku, [notYet]))[0]).toBe('W');
      expect(await ticket(notYet.id)).toMatchObject({ status: 'CLOSED', position: null });
      expect((await join(sku, 'late')).body.error.code).toBe('LINE_NOT_FOUND');
    } finally {
      watch.watch();
    }
    await allEndWithin('C', sku, waiting, 1000);
    expect(await ticket(held.id)).toMatchObject({ status: 'ADMITTED' });

    // Removed again with tickets left to close, then set again: the new line starts with none of them.
    const again = await joinManyAfterSettingLine(sku, 1200);
    await watch.stop();
    try {
      await send('PATCH', `/v1/admin/skus/${sku}`, { line: null });
      expect(await endedAs('C', sku, again)).toBeLessThan(again.length);
      expect((await send('PATCH', `/v1/admin/skus/${sku}`, { line: { holdTtlSeconds: 60 } })).body.line).toMatchObject({ waiting: 0 });
      expect(await endedAs('C', sku, again)).toBe(again.length);
      expect((await join(sku, 'first')).body).toMatchObject({ status: 'WAITING', position: 1 });
    } finally {
      watch.watch();
    }
  }, 60_000);

  /** Sets the SKU's line again and joins `count` users to it; their tickets. */
  const joinManyAfterSettingLine = async (sku: string, count: number) => {
    expect((await send('PATCH', `/v1/admin/skus/${sku}`, { line: { holdTtlSeconds: 60 } })).status).toBe(200);
    const tickets = await joinMany(sku, Array.from({ length: count }, (_, n) => ({ userId: `again${n}`, qty: 1 })));
    expect(tickets.every((t) => t.status === 'WAITING')).toBe(true);
    return tickets;
  };

  it('lobby tickets wait unplaced until startsAt, then stand in a uniformly shuffled order ahead of later joins', async () => {
    const LINES = 120;
    const startsAt = new Date(Date.now() + 2500).toISOString();
    const lines = await Promise.all(
      Array.from({ length: LINES }, async () => {
        const sku = await linedSku(1, { holdTtlSeconds: 60, lobbySeconds: 60 }, { startsAt });
        const tickets = [];
        for (const user of ['x', 'y', 'z']) tickets.push((await join(sku, user)).body);
        return { sku, tickets };
      }),
    );
    for (const { tickets } of lines.slice(0, 3)) for (const t of tickets) expect(t).toMatchObject({ status: 'WAITING', lobby: true, position: null });
    await new Promise((resolve) => setTimeout(resolve, Date.parse(startsAt) - Date.now() + 100));
    const orders = new Map<string, number>();
    for (const { sku, tickets } of lines) {
      const late = (await join(sku, 'late')).body;
      const read = await Promise.all(tickets.map((t) => ticket(t.id)));
      // The one unit went to the lobby's head; the others stand behind it, the late joiner last.
      const admitted = read.filter((t) => t.status === 'ADMITTED');
      expect(admitted).toHaveLength(1);
      const order = [admitted[0], ...read.filter((t) => t.status === 'WAITING').sort((p, q) => p.position - q.position)].map((t) => t.userId).join('');
      expect(late).toMatchObject({ status: 'WAITING', position: 3, lobby: false });
      orders.set(order, (orders.get(order) ?? 0) + 1);
    }
    // Six orders of three tickets, each expected LINES / 6 times: a chi-square test (5 degrees of
    // freedom; 20.5 is the 0.999 quantile) that the shuffle is uniform.
    expect(orders.size).toBe(6);
    const expected = LINES / 6;
    const chiSquare = [...orders.values()].reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    expect(chiSquare, JSON.stringify(Object.fromEntries(orders))).toBeLessThan(20.5);
  }, 60_000);
});

describe.each(REDIS_TARGETS)('joins folded into one script call on %s Redis', (redis) => {
  let ctx: TestContext;
  // No reconciler pass drains (and trims) the outbox while a test reads it.
  beforeAll(async () => {
    ctx = await createTestContext({ redis, env: { RECONCILE_CRON: '0 0 0 1 1 *' } });
  });
  afterAll(() => ctx.close());

  const put = async (sku: string, body: object) => {
    const answer = await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: body });
    expect(answer.statusCode, answer.body).toBe(201);
  };
  /** SKUs of one partition, one of each kind a join may meet. */
  const skus = async () => {
    const name = (prefix: string) => skuIn(ctx, 0, prefix);
    const s = { lined: name('lined-'), plain: name('plain-'), unknown: name('unknown-'), later: name('later-'), lobby: name('lobby-'), gone: name('gone-') };
    const line = { holdTtlSeconds: 60 };
    await put(s.lined, { total: 3, perUserLimit: 2, line });
    await put(s.plain, { total: 5 });
    await put(s.later, { total: 5, line, startsAt: new Date(Date.now() + 3_600_000).toISOString() });
    await put(s.lobby, { total: 5, line: { ...line, lobbySeconds: 7200 }, startsAt: new Date(Date.now() + 3_600_000).toISOString() });
    await put(s.gone, { total: 1, line });
    const buyer = await ctx.engine.joinLine(s.gone, 'buyer', 1, null);
    await ctx.engine.commit(buyer.ticket.id);
    return s;
  };
  type Join = [keyof Awaited<ReturnType<typeof skus>>, string, number];
  // Every outcome a join may have, in one batch: admitted, repeated, over the limit, waiting,
  // no line, no SKU, before the lobby, in the lobby, sold out.
  const JOINS: Join[] = [
    ['lined', 'u1', 1],
    ['lined', 'u2', 2],
    ['lined', 'u1', 1],
    ['lined', 'u3', 3],
    ['lined', 'u4', 1],
    ['plain', 'u1', 1],
    ['lined', 'u2', 1],
    ['unknown', 'u1', 1],
    ['lined', 'u5', 2],
    ['later', 'u1', 1],
    ['lobby', 'u1', 1],
    ['gone', 'u1', 1],
    ['lined', 'u6', 2],
  ];
  /** What an answer says, its ticket named by the first join answered it. */
  const outcomes = (answers: PromiseSettledResult<TicketOutcome>[]) => {
    const ids = answers.map((a) => (a.status === 'fulfilled' ? a.value.ticket.id : null));
    return answers.map((a) => {
      if (a.status === 'rejected') return { refused: (a.reason as DomainError).code };
      const { ticket, changed } = a.value;
      return { changed, sameAs: ids.indexOf(ticket.id), status: ticket.status, position: ticket.position, unitsAhead: ticket.unitsAhead, unitsLeft: ticket.unitsLeft, lobby: ticket.lobby };
    });
  };
  /** The outbox entries holding the JOIN events of `ids`. */
  const entriesWithJoins = async (ids: string[]) => {
    const raw = await ctx.redis.xrange(ctx.keys.outbox(0), '-', '+');
    return raw.filter(([, fields]) => (JSON.parse(fields[1]).events as any[]).some((e) => e?.type === 'JOIN' && ids.includes(e.ticket)));
  };

  it('joins of one partition arriving in one event-loop turn run as one script call, each answered exactly as if it had run alone', async () => {
    const [alone, batched] = [await skus(), await skus()];
    const one = (s: Awaited<ReturnType<typeof skus>>) => ([kind, userId, qty]: Join) => ctx.engine.joinLine(s[kind], userId, qty, null);
    const aloneAnswers: PromiseSettledResult<TicketOutcome>[] = [];
    for (const join of JOINS) aloneAnswers.push(...(await Promise.allSettled([one(alone)(join)])));
    const batchedAnswers = await Promise.allSettled(JOINS.map(one(batched)));
    expect(outcomes(batchedAnswers)).toEqual(outcomes(aloneAnswers));
    expect(outcomes(aloneAnswers).map((o) => ('refused' in o ? o.refused : `${o.status}${o.changed ? '' : ' again'}`))).toEqual([
      'ADMITTED',
      'ADMITTED',
      'ADMITTED again',
      'PURCHASE_LIMIT_EXCEEDED',
      'WAITING',
      'LINE_NOT_FOUND',
      'ADMITTED again',
      'SKU_NOT_FOUND',
      'WAITING',
      'SALE_NOT_ACTIVE',
      'WAITING',
      'SOLD_OUT',
      'WAITING',
    ]);
    // One outbox entry (one script call) for the batch; one per join alone.
    const ticketIds = (answers: PromiseSettledResult<TicketOutcome>[]) => answers.flatMap((a) => (a.status === 'fulfilled' && a.value.changed ? [a.value.ticket.id] : []));
    expect(await entriesWithJoins(ticketIds(batchedAnswers))).toHaveLength(1);
    expect(await entriesWithJoins(ticketIds(aloneAnswers))).toHaveLength(ticketIds(aloneAnswers).length);
  });
});

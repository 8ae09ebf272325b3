/**
 * Waiting lines in the system of record: line_tickets follows every ticket (idempotently, a
 * ticket never going back to WAITING), the SKU row keeps the line's settings; a Redis that lost
 * its data rebuilds each line in its order (places, units ahead, the lobby's shuffle, tickets
 * Postgres never learned of), ended tickets still answer, admission goes on in order; the drift
 * check covers the line counts and repairs them. On Postgres and PGlite, and on the cluster.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows as query } from '../../src/db/client';
import { createInventoryClient } from '../../src/grpc/client';
import { startGrpcServer } from '../../src/grpc/server';
import { checkDrift } from '../../src/reconciler/driftCheck';
import { planWrites } from '../../src/reconciler/writePlan';
import { type OutboxEntry, parseEntry } from '../../src/redis/outboxEntry';
import { openStream } from '../support/eventStream';
import { type DatabaseTarget, type RedisTarget, type TestContext, adminHeaders, createSku, createTestContext, deleteMatching, uniqueName, writeEntries } from '../support/context';

type Json = Record<string, any>;

const TARGETS: { database: DatabaseTarget; redis: RedisTarget }[] = [
  { database: 'postgres', redis: 'single' },
  { database: 'pglite', redis: 'single' },
  { database: 'postgres', redis: 'cluster' },
];

describe.each(TARGETS)('waiting lines in the system of record on $database, $redis Redis', (target) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(target);
  });
  afterAll(() => ctx.close());

  const send = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) => {
    const answer = await ctx.app.inject({ method, url, headers: adminHeaders, ...(payload ? { payload } : {}) });
    return { status: answer.statusCode, body: answer.json() as Json };
  };
  /** A new SKU with a line (a 60 s hold unless `settings` say otherwise). */
  const linedSku = async (total: number, settings: object = {}) => {
    const name = uniqueName('lined-');
    expect((await createSku(ctx, name, { total, line: { holdTtlSeconds: 60 }, ...settings })).line).not.toBeNull();
    return name;
  };
  const join = async (sku: string, userId: string, qty = 1) => {
    const answer = await send('POST', `/v1/skus/${sku}/line`, { userId, qty });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    return answer.body;
  };
  const ticket = async (id: string) => {
    const answer = await send('GET', `/v1/line-tickets/${id}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body;
  };
  /** What a shopper reads of each ticket. */
  const standings = async (tickets: Json[]) =>
    Promise.all(
      tickets.map(async ({ id }) => {
        const { userId, status, position, unitsAhead, unitsLeft, lobby } = await ticket(id);
        return { userId, status, position, unitsAhead, unitsLeft, lobby };
      }),
    );
  const pass = async (repair = false) => {
    const report = await ctx.reconciler.run('api', { repair });
    expect(report.error).toBeUndefined();
    return report;
  };
  const rows = (sku: string) =>
    query<{
      id: string;
      user_id: string;
      qty: number;
      status: string;
      place: number;
      lobby: boolean;
      admitted: boolean;
      ended: boolean;
      reservation_id: string | null;
      line_removed: boolean;
    }>(
      ctx.db,
      sql`select id, user_id, qty, status, place, lobby, admitted_at is not null as admitted, ended_at is not null as ended, reservation_id, line_removed
          from line_tickets where sku = ${sku} order by place`,
    );
  /** Redis loses every key of this engine; the engine rebuilds from Postgres. */
  const loseRedisData = async () => {
    await deleteMatching(ctx.redis, ctx.keys.everything());
    await ctx.dataWatch.check();
  };
  /** The outbox entries of a SKU's partition not yet trimmed away. */
  const outboxEntries = async (sku: string): Promise<OutboxEntry[]> => {
    const partition = ctx.keys.partitionOfSku(sku);
    const raw = await ctx.redis.xrange(ctx.keys.outbox(partition), '-', '+');
    return raw.map(([entryId, fields]) => parseEntry(entryId, fields[1], partition));
  };
  const release = async (id: string) => expect((await send('POST', `/v1/reservations/${id}/release`)).status).toBe(200);
  const statusOf = async (tickets: Json[]) => (await standings(tickets)).map(({ userId, status }) => `${userId}:${status}`);

  it('line_tickets follows joins, admissions, leaves and sold-out; a replayed entry, or a JOIN after its ADMIT, changes nothing', async () => {
    const sku = await linedSku(3);
    const [a, b, c, d, e] = [await join(sku, 'a'), await join(sku, 'b', 2), await join(sku, 'c'), await join(sku, 'd'), await join(sku, 'e', 2)];
    const entries = await outboxEntries(sku);
    expect((await send('DELETE', `/v1/line-tickets/${d.id}`)).body.status).toBe('LEFT');
    await release(a.id);
    expect((await ticket(c.id)).status).toBe('ADMITTED');
    // b is sold: 1 unit left unsold, which e (2) can never have.
    expect((await send('POST', `/v1/reservations/${b.id}/commit`)).status).toBe(200);
    expect((await ticket(e.id)).status).toBe('SOLD_OUT');
    await pass();

    const stored = await rows(sku);
    expect(stored.map(({ user_id, qty, status, place, lobby, admitted, ended }) => [user_id, qty, status, place, lobby, admitted, ended])).toEqual([
      ['a', 1, 'ADMITTED', 1, false, true, false],
      ['b', 2, 'ADMITTED', 3, false, true, false],
      ['c', 1, 'ADMITTED', 4, false, true, false],
      ['d', 1, 'LEFT', 5, false, false, true],
      ['e', 2, 'SOLD_OUT', 7, false, false, true],
    ]);
    expect(stored.map((row) => row.reservation_id)).toEqual([a.id, b.id, c.id, null, null]);
    const [settings] = await query<{ line_hold_ttl_ms: number; line_lobby_ms: number }>(ctx.db, sql`select line_hold_ttl_ms, line_lobby_ms from skus where sku = ${sku}`);
    expect(settings).toEqual({ line_hold_ttl_ms: 60_000, line_lobby_ms: 0 });

    // The entries of the joins (a, b admitted at once; c, d, e waiting) written again, after all that followed.
    const replayed = planWrites(entries).tickets.filter((row) => row.sku === sku);
    expect(replayed.map(({ user_id, status }) => `${user_id}:${status}`)).toEqual(['a:ADMITTED', 'b:ADMITTED', 'c:WAITING', 'd:WAITING', 'e:WAITING']);
    await writeEntries(ctx.db, entries);
    expect(await rows(sku)).toEqual(stored);
    expect((await pass()).drift.filter((item) => item.sku === sku)).toEqual([]);

    // Removing the line: the row keeps no settings, and the tickets no longer hold their users.
    expect((await send('PATCH', `/v1/admin/skus/${sku}`, { line: null })).status).toBe(200);
    await pass();
    expect((await query(ctx.db, sql`select line_hold_ttl_ms, line_lobby_ms from skus where sku = ${sku}`))[0]).toEqual({ line_hold_ttl_ms: null, line_lobby_ms: null });
    expect((await rows(sku)).map((row) => row.line_removed)).toEqual([true, true, true, true, true]);
    // Set again, the line starts afresh, after a rebuild too: a shopper of the removed line gets a new ticket.
    expect((await send('PATCH', `/v1/admin/skus/${sku}`, { line: { holdTtlSeconds: 30 } })).status).toBe(200);
    const f = await join(sku, 'f');
    await pass();
    await loseRedisData();
    const again = await send('POST', `/v1/skus/${sku}/line`, { userId: 'c', qty: 1 });
    expect([again.status, again.body.id === c.id, again.body.position]).toEqual([202, false, 2]);
    const same = await send('POST', `/v1/skus/${sku}/line`, { userId: 'f', qty: 1 });
    expect([same.status, same.body.id, same.body.position]).toEqual([200, f.id, 1]);
    expect(await ticket(c.id)).toMatchObject({ status: 'ADMITTED', reservation: { id: c.id, status: 'PENDING' } });
    expect(await ticket(d.id)).toMatchObject({ status: 'LEFT' });
  });

  it('an admitted ticket whose hold Redis no longer keeps answers the hold from Postgres, over HTTP, gRPC and the events stream alike', async () => {
    const sku = await linedSku(2);
    const [committed, soldOut] = [await join(sku, 'kept', 2), await join(sku, 'late')];
    expect(committed.status).toBe('ADMITTED');
    expect((await send('POST', `/v1/reservations/${committed.id}/commit`)).body.status).toBe('COMMITTED');
    await pass();
    // The hold's record is gone from Redis (its retention ended), the ticket kept.
    expect(await ctx.redis.del(ctx.keys.reservation(committed.id))).toBe(1);
    const expected = { id: committed.id, status: 'ADMITTED', reservation: { id: committed.id, status: 'COMMITTED', userId: 'kept', items: [{ sku, qty: 2, reserved: 2 }] } };
    const overHttp = await ticket(committed.id);
    expect(overHttp).toMatchObject(expected);
    const server = await startGrpcServer({ config: ctx.config, ...ctx.app.runtime, metrics: ctx.metrics }, { host: '127.0.0.1', port: 0, log: ctx.app.log });
    const client = createInventoryClient(`127.0.0.1:${server.port}`);
    try {
      expect((await client.getTicket({ ticketId: committed.id })).ticket).toMatchObject(expected);
    } finally {
      client.close();
      await server.close();
    }
    const address = new URL(await ctx.app.listen({ port: 0, host: '127.0.0.1' }));
    const stream = await openStream(address.origin, `tickets=${committed.id},${soldOut.id}`);
    try {
      const [first, second] = await stream.waitFor(2);
      expect(first.data).toEqual(overHttp);
      expect(second.data).toMatchObject({ id: soldOut.id, status: 'SOLD_OUT', reservation: null });
    } finally {
      stream.close();
    }
  });

  it('a Redis that lost its data brings the line back in its order: positions and units ahead as before, ended tickets still answer, admission goes on in order', async () => {
    const sku = await linedSku(3);
    const wants = [1, 1, 2, 1, 1, 2, 1, 3, 1];
    const tickets: Json[] = [];
    for (const [n, qty] of wants.entries()) tickets.push(await join(sku, `u${n}`, qty));
    const [u0, u1, u2, u3, u4, u5, u6, , u8] = tickets;
    // One unit is left, but the head wants 2: it waits, and so does everyone behind it.
    expect([u0.status, u1.status, u2.status]).toEqual(['ADMITTED', 'ADMITTED', 'WAITING']);
    // One leaves from the middle of the line.
    expect((await send('DELETE', `/v1/line-tickets/${u4.id}`)).body.status).toBe('LEFT');
    const before = await standings(tickets);
    expect(before.filter((t) => t.status === 'WAITING').map((t) => [t.userId, t.position, t.unitsAhead])).toEqual([
      ['u2', 1, 0],
      ['u3', 2, 2],
      ['u5', 3, 3],
      ['u6', 4, 5],
      ['u7', 5, 6],
      ['u8', 6, 9],
    ]);
    const view = (await send('GET', `/v1/skus/${sku}`)).body;
    await pass();

    await loseRedisData();
    expect(await standings(tickets)).toEqual(before);
    expect((await send('GET', `/v1/skus/${sku}`)).body).toEqual(view);
    expect((await pass()).drift.filter((item) => item.sku === sku)).toEqual([]);

    // Admission goes on in order: u1's unit and one more go to u2 (2), then one by one.
    await release(u1.id);
    expect(await statusOf([u2, u3])).toEqual(['u2:ADMITTED', 'u3:WAITING']);
    expect((await send('POST', `/v1/admin/skus/${sku}/adjust`, { delta: 2, reason: 'restock' })).status).toBe(200);
    expect(await statusOf([u3, u5, u6])).toEqual(['u3:ADMITTED', 'u5:WAITING', 'u6:WAITING']);
    expect(await ticket(u5.id)).toMatchObject({ position: 1, unitsAhead: 0 });
    expect(await ticket(u8.id)).toMatchObject({ position: 4, unitsAhead: 6 });
    // A user who left keeps the ticket: joining again answers it.
    const again = await send('POST', `/v1/skus/${sku}/line`, { userId: 'u4', qty: 1 });
    expect([again.status, again.body.id, again.body.status]).toEqual([200, u4.id, 'LEFT']);
    await pass();
    expect((await rows(sku)).map(({ user_id, status }) => `${user_id}:${status}`)).toEqual(await statusOf(tickets));
    expect((await pass()).drift.filter((item) => item.sku === sku)).toEqual([]);
  });

  it('the lobby: shuffled tickets whose places Postgres never learned come back in the shuffled order, ahead of later joins; before startsAt they wait unplaced', async () => {
    const startsAt = Date.now() + 1500;
    const sku = await linedSku(2, { line: { holdTtlSeconds: 60, lobbySeconds: 60 }, startsAt: new Date(startsAt).toISOString() });
    const wants = [2, 1, 1, 2, 1, 2, 1];
    const lobby: Json[] = [];
    for (const [n, qty] of wants.entries()) lobby.push(await join(sku, `l${n}`, qty));
    expect(lobby.every((t) => t.lobby && t.position === null)).toBe(true);
    // Their draws, as Redis holds them: the order the shuffle will give them.
    const draws = await Promise.all(lobby.map(async (t) => Number(await ctx.redis.zscore(ctx.keys.line(sku), t.id))));
    const shuffled = lobby.map((t, n) => ({ userId: t.userId, draw: draws[n] })).sort((p, q) => p.draw - q.draw).map((t) => t.userId);
    await pass();

    // Lost before startsAt: still in the lobby, unplaced.
    await loseRedisData();
    expect((await standings(lobby)).map(({ status, lobby: inLobby, position }) => [status, inLobby, position])).toEqual(wants.map(() => ['WAITING', true, null]));

    await new Promise((resolve) => setTimeout(resolve, startsAt - Date.now() + 100));
    // The first line call after startsAt shuffles and admits the head (2 units: one or two tickets); the late joiners stand last.
    const late = [await join(sku, 'late1', 2), await join(sku, 'late2')];
    const tickets = [...lobby, ...late];
    const before = await standings(tickets);
    const order = before.filter((t) => t.status === 'WAITING').sort((p, q) => p.position - q.position).map((t) => t.userId);
    expect(order).toEqual([...shuffled, 'late1', 'late2'].filter((user) => order.includes(user)));
    await pass();
    // Postgres knows the late joins' places and the draws of the lobby tickets still waiting.
    const stored = await rows(sku);
    expect(stored.filter((row) => row.lobby && row.status === 'WAITING').every((row) => row.place < 0)).toBe(true);

    await loseRedisData();
    expect(await standings(tickets)).toEqual(before);
    expect((await pass()).drift.filter((item) => item.sku === sku)).toEqual([]);
    // Admission goes on in the shuffled order, as units come: each step admits the head of what still waits.
    // Those the shuffle admitted at once, in their places (their ADMIT events carried them to Postgres).
    const admitted = stored.filter((row) => row.status === 'ADMITTED').map((row) => row.user_id);
    const positionBefore = new Map(before.map((t) => [t.userId, t.position]));
    for (let step = 0; step < 3; step++) {
      expect((await send('POST', `/v1/admin/skus/${sku}/adjust`, { delta: 3, reason: 'restock' })).status).toBe(200);
      const now = await standings(tickets);
      const newly = now.filter((t) => t.status === 'ADMITTED' && !admitted.includes(t.userId)).map((t) => t.userId);
      admitted.push(...newly.sort((p, q) => positionBefore.get(p)! - positionBefore.get(q)!));
    }
    expect(admitted).toEqual([...shuffled, 'late1', 'late2'].slice(0, admitted.length));
    expect(admitted.length).toBeGreaterThan(4);
  });

  it('a ticket whose join never reached Postgres leaves no units ahead of the others after a rebuild', async () => {
    const sku = await linedSku(3);
    const [, , c, d, e, f] = [await join(sku, 'a'), await join(sku, 'b', 2), await join(sku, 'c', 3), await join(sku, 'd'), await join(sku, 'e', 2), await join(sku, 'f')];
    expect([c, d, e, f].map((t) => [t.position, t.unitsAhead])).toEqual([
      [1, 0],
      [2, 3],
      [3, 4],
      [4, 6],
    ]);
    await pass();
    // As when c's JOIN was lost with Redis's data before the drain reached it.
    await ctx.db.execute(sql`delete from line_tickets where id = ${c.id}`);
    await loseRedisData();
    expect((await standings([d, e, f])).map(({ userId, position, unitsAhead }) => [userId, position, unitsAhead])).toEqual([
      ['d', 1, 0],
      ['e', 2, 1],
      ['f', 3, 3],
    ]);
    expect((await send('GET', `/v1/line-tickets/${c.id}`)).status).toBe(404);
    // c's user may join again, at the back.
    expect(await join(sku, 'c', 3)).toMatchObject({ position: 4, unitsAhead: 4 });
  });

  it('the drift check compares the line counts with line_tickets, and repairs a tampered counter from the line', async () => {
    const sku = await linedSku(1);
    const tickets = [await join(sku, 'a'), await join(sku, 'b'), await join(sku, 'c')];
    await pass();
    expect((await pass()).drift.filter((item) => item.sku === sku)).toEqual([]);
    await ctx.redis.hset(ctx.keys.stock(sku), 'lineWaiting', 99, 'lineAdmitted', 5);
    const found = (await pass()).drift.filter((item) => item.sku === sku);
    expect(found).toEqual([
      { sku, field: 'lineWaiting', redis: 99, postgres: 2, expected: 2 },
      { sku, field: 'lineAdmitted', redis: 5, postgres: 1, expected: 1 },
    ]);
    const repaired = await pass(true);
    expect(repaired.drift.filter((item) => item.sku === sku)).toHaveLength(2);
    expect((await send('GET', `/v1/skus/${sku}`)).body.line).toMatchObject({ waiting: 2, admitted: 1 });
    expect((await pass()).drift.filter((item) => item.sku === sku)).toEqual([]);
    // The report's schema takes the line fields (the API answers it).
    await ctx.redis.hset(ctx.keys.stock(sku), 'lineWaiting', 7);
    const answer = await send('POST', '/v1/admin/reconcile', {});
    expect(answer.status).toBe(200);
    expect(answer.body.drift).toEqual(expect.arrayContaining([{ sku, field: 'lineWaiting', redis: 7, postgres: 2, expected: 2 }]));
    await pass(true);
    await release(tickets[0].id);
    expect((await ticket(tickets[1].id)).status).toBe('ADMITTED');
  });

  it('admissions a PUT makes after the drain reach Postgres with it: neither a drift check nor a repair takes them for drift', async () => {
    const sku = await linedSku(1);
    for (const user of ['a', 'b', 'c', 'd']) await join(sku, user);
    await pass();
    // Between a pass's drain and its drift check: the PUT admits two more tickets, written with it
    // (src/reconciler/factsAhead.ts), so the row and the tickets move on together.
    expect((await send('PUT', `/v1/admin/skus/${sku}`, { total: 3, line: { holdTtlSeconds: 60 } })).status).toBe(200);
    const checked = await checkDrift(ctx.maintenance, ctx.db, { repair: true });
    expect(checked.drift.filter((item) => item.sku === sku)).toEqual([]);
    expect(checked.notRepaired).not.toContain(sku);
    expect((await send('GET', `/v1/skus/${sku}`)).body.line).toMatchObject({ waiting: 1, admitted: 3 });
    expect((await pass(true)).drift.filter((item) => item.sku === sku)).toEqual([]);
    expect((await send('GET', `/v1/skus/${sku}`)).body.line).toMatchObject({ waiting: 1, admitted: 3 });
  });
});

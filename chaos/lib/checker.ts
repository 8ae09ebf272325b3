/* eslint-disable @typescript-eslint/no-explicit-any -- answers' JSON bodies and rows are read field by field */
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { bucketSkus, parseBucketSku } from '../../src/domain/buckets';
import { isConserved } from '../../src/domain/sku';
import { MOVE_GRACE_MS } from '../../src/reconciler/bucketMoves';
import { CLIENT_OPTIONS } from '../../src/redis/connect';
import { RedisKeys } from '../../src/redis/keys';
import { CLAIM_TTL_MS, PART_DEADLINE_MS } from '../../src/redis/scriptCalls';
import type { Fault } from './faults';
import { checkLine, settleLine } from './lineChecker';
import { LINE_SKU } from './lineWorkload';
import { BUCKETS, adminHeaders, call, type History, LIMITS, type Op, type Reservation, SKUS } from './workload';
import type { World } from './world';

export const INVARIANTS = [
  'engines ready after faults stop',
  'conservation',
  'sold = acknowledged + effective ambiguous commits',
  'no acknowledged hold lost before expiry',
  'one terminal state per reservation',
  'one reservation per idempotency key',
  'per-user limit',
  'acknowledged commit in Postgres exactly once',
  'Postgres and Redis agree',
  'available is what a reserve can hold',
  'a retry after a 503 is served once Redis answers',
  'a reserve nobody received holds nothing',
  'no event watcher outlives its client',
  'line order',
  'one admission per ticket',
  'no admission after leaving',
  'one ticket per user',
  'a lined SKU is reserved only through its line',
  'no ticket waits while units are available',
  'the line view counts its tickets',
] as const;
export type Invariant = (typeof INVARIANTS)[number];

export interface Violation {
  invariant: Invariant;
  detail: string;
  resId?: string;
  sku?: string;
  at?: number;
  /** The loss of Redis data (a fault kind) that may have taken this acknowledged effect. */
  lostTo?: string;
}

export interface CheckResult {
  violations: Violation[];
  /** Acknowledged effects Redis lost with its data before they reached Postgres (FLUSHALL, a promoted replica). */
  lostByDesign: Violation[];
  settle: string[];
}

const MARGIN_MS = 300;
/** The SKUs of the campaign, the lined one too. */
const ALL_SKUS = [...SKUS, LINE_SKU];
const TERMINAL = ['COMMITTED', 'RELEASED', 'EXPIRED'];

/**
 * How long after a fault ends a retry may still meet the claim its first attempt made: an undo
 * sent while the fault lasted (a failover pauses the old master's clients) may wait out the
 * client's command timeout before the next round, 250 ms later, sends it again; then a margin.
 */
const RETRY_GRACE_MS = CLIENT_OPTIONS.commandTimeout! + 250 + 750;
/** How long the claim of a keyed reserve whose engine died lives on, with a margin. */
const CLAIM_LIFETIME_MS = CLAIM_TTL_MS + 1000;

/**
 * How long after its client hung up a hold may still be made and kept: the engine learns of the
 * closed connection from its event loop, which under load runs behind by up to this much.
 */
const HANG_UP_NOTICE_MS = 1000;

/** After a fault's end, how long more a move between buckets it disturbed may take to begin (its out) and reach a pass. */
const MOVE_MARGIN_MS = 5_000;

/** Faults that kill an engine process: a reserve spanning partitions it was making may leave parts without a home. */
const ENGINE_KILLS = ['engine-kill', 'reconciler-killed-mid-pass'];

/**
 * Waits for both engines to be ready, every hold to expire, the parts a killed engine left
 * without a home to be let go (PART_DEADLINE_MS after they were held,
 * docs/architecture.md#requests-that-span-partitions), the moves between buckets a fault left
 * half-done to be finished, and the reconciler to have drained everything.
 */
async function settle(world: World, history: History, faults: Fault[], log: (line: string) => void): Promise<{ notes: string[]; lastDrift: any[]; notReady: string[] }> {
  const notes: string[] = [];
  // A pass killed with its engine keeps the reconcile lease until its TTL (15 s) runs out.
  const deadline = Date.now() + 120_000;
  const notReady: string[] = [];
  for (const engine of world.engines) {
    let ready = await call(engine, 'GET', '/ready');
    while (Date.now() < deadline - 60_000 && ready.status !== 200) {
      await sleep(250);
      ready = await call(engine, 'GET', '/ready');
    }
    if (ready.status !== 200) notReady.push(`engine ${engine.name} /ready still ${ready.status} ${JSON.stringify(ready.body).slice(0, 300)} 60 s after the faults stopped`);
  }
  // /ready may say 200 while routes still answer 503: every engine must serve a SKU read again.
  for (const engine of world.engines) {
    const since = Date.now();
    let read = await call(engine, 'GET', `/v1/skus/${SKUS[0]}`);
    while (Date.now() - since < 30_000 && read.status !== 200) {
      await sleep(250);
      read = await call(engine, 'GET', `/v1/skus/${SKUS[0]}`);
    }
    if (read.status !== 200) notReady.push(`engine ${engine.name} still answers GET /v1/skus/${SKUS[0]} with ${read.status} ${JSON.stringify(read.body).slice(0, 200)} after 30 s more of waiting`);
  }
  notReady.forEach(log);
  const lastExpiry = Math.max(0, ...[...history.reservations.values()].map((r) => r.expiresAt));
  if (lastExpiry > Date.now()) await sleep(Math.min(lastExpiry - Date.now() + 1500, 30_000));
  await settleLine(world, log);
  // A promotion that lost data the engines never waited for (REDIS_WAIT_REPLICAS=0) may take a
  // spanning reservation's end in one partition and not in another: that part is let go at the
  // same deadline as the parts of a killed engine.
  const leftParts = (fault: Fault) => ENGINE_KILLS.includes(fault.kind) || (fault.replicaPromoted && world.waitReplicas === 0);
  const lastKill = Math.max(0, ...faults.filter(leftParts).map((fault) => fault.t0));
  if (world.partitions > 1 && lastKill + PART_DEADLINE_MS > Date.now()) {
    log(`waiting ${((lastKill + PART_DEADLINE_MS - Date.now()) / 1000).toFixed(1)} s for parts a killed engine or a promotion may have left without their end`);
    await sleep(lastKill + PART_DEADLINE_MS + 1000 - Date.now());
  }
  // A move between buckets a fault left half-done is finished by a pass MOVE_GRACE_MS after it
  // began (src/reconciler/bucketMoves.ts); the passes that settle come after, so that what they
  // drain last includes it.
  const movesFinishedBy = Math.max(0, ...faults.map((fault) => fault.t1)) + MOVE_GRACE_MS + MOVE_MARGIN_MS;
  if (movesFinishedBy > Date.now()) {
    log(`waiting ${((movesFinishedBy - Date.now()) / 1000).toFixed(1)} s for moves between buckets a fault may have left half-done`);
    await sleep(movesFinishedBy - Date.now());
  }
  let lastDrift: any[] = [];
  let quiet = 0;
  const settleStart = Date.now();
  let refused = 0;
  for (let pass = 0; pass < 400 && Date.now() < deadline && quiet < 2; pass++) {
    const answer = await call(world.engines[pass % 2], 'POST', '/v1/admin/reconcile', { repair: false }, adminHeaders, 30_000);
    if (answer.status === 409) {
      refused++;
      await sleep(500);
      continue;
    }
    log(`settle pass ${pass}: ${answer.status} ${JSON.stringify(answer.status === 200 ? { eventsWritten: answer.body.eventsWritten, expiredReleased: answer.body.expiredReleased, drift: answer.body.drift?.length, error: answer.body.error } : answer.body).slice(0, 300)}`);
    if (answer.status !== 200) {
      await sleep(500);
      continue;
    }
    lastDrift = answer.body.drift ?? [];
    quiet = answer.body.eventsWritten === 0 && answer.body.expiredReleased === 0 && !answer.body.error ? quiet + 1 : 0;
    await sleep(300);
  }
  notes.push(
    `${quiet >= 2 ? 'reconciler caught up (two quiet passes)' : 'reconciler did NOT reach two quiet passes'} after ${((Date.now() - settleStart) / 1000).toFixed(1)} s, ${refused} passes refused RECONCILE_IN_PROGRESS meanwhile`,
  );
  log(notes[notes.length - 1]);
  return { notes, lastDrift, notReady };
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

export async function check(world: World, history: History, faults: Fault[], log: (line: string) => void = () => {}): Promise<CheckResult> {
  const violations: Violation[] = [];
  const lostByDesign: Violation[] = [];
  const { notes, lastDrift, notReady } = await settle(world, history, faults, log);
  for (const detail of notReady) violations.push({ invariant: 'engines ready after faults stop', detail, at: Date.now() });

  const sql = postgres(world.postgres.url, { max: 4, onnotice: () => {} });
  try {
    const runs = (await sql`select started_at, finished_at, error from reconcile_runs`).map((row: any) => ({
      startedAt: new Date(row.started_at).getTime(),
      finishedAt: row.finished_at ? new Date(row.finished_at).getTime() : Infinity,
      ok: !row.error,
    }));
    // Engines that wait for a replica never acknowledge what a promoted replica lacks: a promotion
    // excuses nothing then; a FLUSHALL excuses what it took either way.
    const allLosses = faults.filter((fault) => fault.dataLoss);
    const losses = allLosses.filter((fault) => !(world.waitReplicas > 0 && fault.replicaPromoted));
    /** The loss of `among` after `ackedAt` and before `seenAt` with no complete pass between the ack and the loss to drain it. */
    const lossBetween = (among: Fault[], ackedAt: number, seenAt: number) =>
      among.find(
        // The engine notices a loss within about a second: writes acknowledged until then count as exposed too.
        (loss) => loss.t1 + 1500 > ackedAt && loss.t0 < seenAt && !runs.some((run) => run.ok && run.startedAt > ackedAt && run.finishedAt < loss.t0),
      );
    const byDesign = (ackedAt: number, seenAt: number) => lossBetween(losses, ackedAt, seenAt) !== undefined;
    const flag = (violation: Violation, ackedAt?: number) => {
      const seenAt = violation.at ?? Date.now();
      if (ackedAt !== undefined) violation.lostTo = lossBetween(allLosses, ackedAt, seenAt)?.kind;
      if (ackedAt !== undefined && byDesign(ackedAt, seenAt)) lostByDesign.push(violation);
      else violations.push(violation);
    };

    // Lines first, before anything reads a ticket (a read serves the line). Tickets reach Postgres
    // only where the engine has line_tickets; without it a loss of Redis data takes the whole line.
    const lineDurable = (await sql`select to_regclass('line_tickets') as t`)[0].t !== null;
    const lineLost = (ackedAt: number, seenAt: number) => (lineDurable ? byDesign(ackedAt, seenAt) : losses.some((loss) => loss.t1 + 1500 > ackedAt && loss.t0 < seenAt));
    const line = await checkLine(world, history, sql, lineLost);
    violations.push(...line.violations);
    lostByDesign.push(...line.lostByDesign);
    notes.push(...line.notes, lineDurable ? 'tickets reach Postgres (line_tickets): a ticket is lost by design like any other effect' : 'no line_tickets table: tickets never reach Postgres, so a loss of Redis data takes the whole line (counted lost by design)');

    // Final state of every reservation a client was told about.
    const reservations = [...history.reservations.values()];
    const finals = new Map<string, { status: number; body: any }>();
    await mapLimited(reservations, 8, async (r) => {
      let answer = await call(world.engines[0], 'GET', `/v1/reservations/${r.id}`);
      for (let i = 0; i < 5 && (answer.status === 0 || answer.status >= 500); i++) {
        await sleep(300);
        answer = await call(world.engines[i % 2], 'GET', `/v1/reservations/${r.id}`);
      }
      finals.set(r.id, answer);
    });
    const finalStatus = (r: Reservation) => (finals.get(r.id)?.status === 200 ? finals.get(r.id)!.body.status : `HTTP ${finals.get(r.id)?.status}`);

    // Answers per reservation, in answer order.
    const opsOf = new Map<string, Op[]>();
    for (const op of history.ops) if (op.resId) (opsOf.get(op.resId) ?? opsOf.set(op.resId, []).get(op.resId)!).push(op);

    const committedUnits = new Map<string, number>(ALL_SKUS.map((sku) => [sku, 0]));
    const perUser = new Map<string, number>();
    for (const r of reservations) {
      const status = finalStatus(r);
      const ops = (opsOf.get(r.id) ?? []).sort((a, b) => a.t1 - b.t1);
      if (status === 'COMMITTED') {
        for (const [sku, units] of r.units) {
          committedUnits.set(sku, (committedUnits.get(sku) ?? 0) + units);
          perUser.set(`${sku}|${r.userId}`, (perUser.get(`${sku}|${r.userId}`) ?? 0) + units);
        }
        if (!r.commitTried) violations.push({ invariant: 'sold = acknowledged + effective ambiguous commits', detail: `${r.id} is COMMITTED but no client ever asked to commit it`, resId: r.id });
      }
      if (r.commitAckedAt !== undefined && status !== 'COMMITTED')
        flag({ invariant: 'sold = acknowledged + effective ambiguous commits', detail: `${r.id}: commit acknowledged at ${iso(r.commitAckedAt)}, now ${status}`, resId: r.id, at: Date.now() }, r.commitAckedAt);
      // Terminal states seen in answers, and final.
      const seen = new Set<string>();
      for (const op of ops) {
        const s = op.answer?.status;
        if (op.answer?.id === r.id && TERMINAL.includes(s)) seen.add(s);
        if (op.code === 'RESERVATION_COMMITTED') seen.add('COMMITTED');
        if (op.code === 'RESERVATION_RELEASED') seen.add('RELEASED');
        if (op.code === 'RESERVATION_EXPIRED') seen.add('EXPIRED');
        // A hold answered as gone before its expiry.
        const inForce = deadlineFor(r, ops, op);
        const early = inForce !== undefined && op.t1 < inForce.deadline - MARGIN_MS && op.t0 > r.ackedAt - 1;
        const gone = op.status === 404 || op.code === 'RESERVATION_EXPIRED' || s === 'EXPIRED' || ((op.code === 'RESERVATION_RELEASED' || s === 'RELEASED') && !r.releaseTried);
        if (early && gone && !r.commitAckedAt)
          flag({ invariant: 'no acknowledged hold lost before expiry', detail: `${r.id} expires ${iso(r.expiresAt)} but #${op.seq} ${op.kind} answered at ${iso(op.t1)}: ${op.status} ${op.code ?? s ?? ''}`, resId: r.id, at: op.t1 }, Math.max(r.ackedAt, inForce!.setAt));
      }
      if (TERMINAL.includes(status)) seen.add(status);
      // The terminal state acknowledged first is the one a loss of Redis data may have undone.
      const firstEndAcked = Math.min(r.commitAckedAt ?? Infinity, r.releaseAckedAt ?? Infinity);
      if (seen.size > 1)
        flag({ invariant: 'one terminal state per reservation', detail: `${r.id} answered ${[...seen].join(' and ')} (final ${status})`, resId: r.id, at: Date.now() }, Number.isFinite(firstEndAcked) ? firstEndAcked : r.ackedAt);
    }

    for (const [key, idem] of history.idemKeys) {
      if (idem.ids.size < 2) continue;
      // A binding lost with Redis's data before a pass drained it lets a retry hold anew: judged from the first reservation's acknowledgement.
      const ids = [...idem.ids];
      const firstAcked = Math.min(...ids.map((id) => history.reservations.get(id)?.ackedAt ?? Infinity));
      const violation: Violation = { invariant: 'one reservation per idempotency key', detail: `key "${key}" of ${idem.userId} produced ${ids.join(', ')}`, resId: ids[0], at: Date.now() };
      if (Number.isFinite(firstAcked)) flag(violation, firstAcked);
      else violations.push(violation);
    }
    // A keyed reserve answered 503 lets go of its claim as soon as Redis answers: a retry elsewhere
    // is refused IN_FLIGHT only while a fault lasts (or just after it), or for the 30 s a claim
    // made by an engine killed since lives on.
    for (const op of history.ops) {
      if (op.kind !== 'reserve-retry-elsewhere' || op.code !== 'IDEMPOTENCY_IN_FLIGHT') continue;
      const excused = faults.some((fault) =>
        ENGINE_KILLS.includes(fault.kind) ? fault.t0 <= op.t0 && op.t0 <= fault.t1 + CLAIM_LIFETIME_MS : fault.t0 <= op.t0 && op.t0 <= fault.t1 + RETRY_GRACE_MS,
      );
      if (!excused) violations.push({ invariant: 'a retry after a 503 is served once Redis answers', detail: `#${op.seq} key "${op.idemKey}" answered IDEMPOTENCY_IN_FLIGHT at ${iso(op.t1)}, no fault then`, at: op.t1 });
    }
    for (const [pair, units] of perUser) {
      const [sku, user] = pair.split('|');
      const limit = LIMITS[sku];
      if (limit !== null && units > limit) violations.push({ invariant: 'per-user limit', detail: `${user} bought ${units} of ${sku}, limit ${limit}`, sku });
    }
    for (const violation of limitOverruns(reservations, opsOf, finalStatus, byDesign)) violations.push(violation);

    // Conservation in every SKU view an answer carried: for the SKU, in each location, and the SKU's counters their sums.
    const sumsMatch = (v: any) => ['total', 'available', 'reserved', 'sold'].every((field) => v.locations.reduce((sum: number, l: any) => sum + l[field], 0) === v[field]);
    for (const op of history.ops) {
      const v = op.answer;
      if (v?.sku && typeof v.total === 'number' && !(isConserved(v) && (v.locations ?? []).every(isConserved) && (!v.locations || sumsMatch(v))))
        violations.push({ invariant: 'conservation', detail: `#${op.seq} ${op.kind} answered ${JSON.stringify(v)}`, sku: v.sku, at: op.t1 });
    }

    // Final SKU views, raw Redis counters, Postgres rows.
    const keys = new RedisKeys('fs', world.partitions);
    const redis = world.redisClient();
    // A split SKU's counters are its buckets' sums, in Redis and in Postgres (rows and levels alike).
    const pgSkus = sumByOwnName(await sql`select sku, total, available, reserved, sold from skus`, (row) => row.sku);
    const pgLevels = sumByOwnName(await sql`select sku, location, total, available, reserved, sold from stock_levels`, (row) => `${row.sku}@${row.location}`);
    for (const sku of ALL_SKUS) {
      const view = (await call(world.engines[0], 'GET', `/v1/skus/${sku}`)).body;
      const hashes = await Promise.all(bucketSkus(sku, BUCKETS[sku] ?? 1).map((name) => redis.hgetall(keys.stock(name)).catch(() => ({}) as Record<string, string>)));
      const raw = hashes.length === 1 ? hashes[0] : sumByOwnName(hashes.map((hash) => ({ ...hash, sku })), (row) => row.sku).get(sku)!;
      const row: any = pgSkus.get(sku);
      for (const [where, c] of [['API', view], ['Redis', raw], ['Postgres', row]] as const) {
        const n = (field: string) => Number((c as any)?.[field]);
        if (!c || !(n('available') + n('reserved') + n('sold') === n('total')) || n('available') < 0 || n('reserved') < 0 || n('sold') < 0)
          violations.push({ invariant: 'conservation', detail: `${sku} in ${where}: ${JSON.stringify(c)}`, sku });
      }
      const sold = Number(view?.sold);
      if (sold !== committedUnits.get(sku)) {
        const loss = sold < committedUnits.get(sku)! ? ' (fewer than committed)' : ' (more than committed: oversold)';
        const violation: Violation = { invariant: 'sold = acknowledged + effective ambiguous commits', detail: `${sku}: sold ${sold}, reservations read COMMITTED hold ${committedUnits.get(sku)}${loss}`, sku };
        if (sold < committedUnits.get(sku)! && losses.length) lostByDesign.push(violation);
        else violations.push(violation);
      }
      for (const field of ['total', 'available', 'reserved', 'sold']) {
        if (Number(view?.[field]) !== Number(raw[field]) || Number(view?.[field]) !== Number(row?.[field]))
          violations.push({ invariant: 'Postgres and Redis agree', detail: `${sku}.${field}: API ${view?.[field]}, Redis ${raw[field]}, Postgres ${row?.[field]}`, sku });
      }
      // Per location: conserved, and Postgres's stock_levels row agreeing with the engine.
      for (const level of view?.locations ?? []) {
        const where = `${sku}@${level.location}`;
        if (!isConserved(level)) violations.push({ invariant: 'conservation', detail: `${where} in API: ${JSON.stringify(level)}`, sku });
        // A location left out of the last PUT takes no holds: nothing there may read available, and once nothing is held or sold there it is gone.
        if (!level.active && (level.available !== 0 || level.reserved + level.sold === 0))
          violations.push({ invariant: 'available is what a reserve can hold', detail: `${where} is retired but reads ${JSON.stringify(level)}`, sku });
        const row: any = pgLevels.get(where);
        for (const field of ['total', 'available', 'reserved', 'sold'])
          if (Number(level[field]) !== Number(row?.[field])) violations.push({ invariant: 'Postgres and Redis agree', detail: `${where}.${field}: API ${level[field]}, Postgres ${row?.[field]}`, sku });
      }
      if (view?.reserved !== 0) violations.push({ invariant: 'no acknowledged hold lost before expiry', detail: `${sku}: ${view?.reserved} units still reserved after every hold expired and the reconciler caught up (leak)`, sku });
    }
    for (const drift of lastDrift) violations.push({ invariant: 'Postgres and Redis agree', detail: `final pass drift ${JSON.stringify(drift)}`, sku: drift.sku });

    // A reserve whose client hung up before the hold was made is undone (released), never kept
    // until it expires, unless its engine died before it could undo it or Redis lost the undo.
    const gaveUp = new Map(history.ops.filter((op) => op.gaveUpOrderId).map((op) => [op.gaveUpOrderId!, op]));
    const rows = gaveUp.size ? await sql`select id, order_id, status, created_at from reservations where order_id like 'gave-up-%'` : [];
    let reached = 0;
    let undone = 0;
    for (const row of rows as any[]) {
      const op = gaveUp.get(row.order_id);
      if (!op) continue;
      reached++;
      if (row.status === 'RELEASED') undone++;
      const createdAt = new Date(row.created_at).getTime();
      if (row.status !== 'EXPIRED' || createdAt <= op.t1 + HANG_UP_NOTICE_MS) continue;
      const excused = faults.some((fault) => (ENGINE_KILLS.includes(fault.kind) || fault.dataLoss) && fault.t1 >= op.t1 && fault.t0 <= createdAt + 3000);
      if (!excused)
        violations.push({ invariant: 'a reserve nobody received holds nothing', detail: `${row.id} (#${op.seq}, client hung up at ${iso(op.t1)}) was held at ${iso(createdAt)} and kept until it expired`, resId: row.id, at: createdAt });
    }
    notes.push(`${gaveUp.size} reserves whose client hung up: ${reached} reached Redis, ${undone} of them undone`);

    // Every event stream's client has reset its connection: no engine still watches for one.
    for (const engine of world.engines) {
      const text = String((await call(engine, 'GET', '/metrics')).body ?? '');
      for (const gauge of ['flashsale_event_streams', 'flashsale_event_watched_skus']) {
        const value = Number(new RegExp(`^${gauge} (\\S+)$`, 'm').exec(text)?.[1]);
        if (value !== 0) violations.push({ invariant: 'no event watcher outlives its client', detail: `engine ${engine.name}: ${gauge} ${value} after ${history.streamResets} stream clients reset`, at: Date.now() });
      }
    }

    // Every committed reservation in Postgres exactly once.
    const pgStatus = new Map((await sql`select id, status from reservations`).map((row: any) => [row.id, row.status]));
    const commitMoves = new Map<string, number>();
    for (const row of await sql`select reservation_id, sku, sum(qty)::int as qty from stock_movements where type = 'COMMIT' group by reservation_id, sku`) {
      // A split SKU's units were committed in a bucket: counted as the SKU's.
      const pair = `${row.reservation_id}|${parseBucketSku(row.sku).sku}`;
      commitMoves.set(pair, (commitMoves.get(pair) ?? 0) + Math.abs(row.qty));
    }
    for (const r of reservations) {
      const committed = finalStatus(r) === 'COMMITTED';
      if (!committed && r.commitAckedAt === undefined) continue;
      if (committed && pgStatus.get(r.id) !== 'COMMITTED')
        violations.push({ invariant: 'acknowledged commit in Postgres exactly once', detail: `${r.id} COMMITTED in Redis, Postgres says ${pgStatus.get(r.id) ?? 'nothing'}`, resId: r.id });
      if (!committed) continue;
      for (const [sku, units] of r.units) {
        const moved = commitMoves.get(`${r.id}|${sku}`) ?? 0;
        if (units > 0 && moved !== units) violations.push({ invariant: 'acknowledged commit in Postgres exactly once', detail: `${r.id}: ${units} units of ${sku} committed, COMMIT movements say ${moved}`, resId: r.id, sku });
      }
    }
    // And the converse: every unit Postgres counts sold belongs to a reservation a client was told about that reads COMMITTED.
    const known = new Map(reservations.map((r) => [r.id, r]));
    for (const [pair, moved] of commitMoves) {
      const [id, sku] = pair.split('|');
      const r = known.get(id);
      if (moved === 0 || (r && finalStatus(r) === 'COMMITTED')) continue;
      const violation: Violation = {
        invariant: 'sold = acknowledged + effective ambiguous commits',
        detail: `${id}: COMMIT movements sold ${moved} of ${sku}, the reservation ${r ? `reads ${finalStatus(r)}` : 'was never told to a client'}, Postgres says ${pgStatus.get(id) ?? 'nothing'}`,
        resId: id,
        sku,
      };
      // A commit acknowledged, then undone by Redis losing its data, is lost by design.
      if (r?.commitAckedAt !== undefined) flag(violation, r.commitAckedAt);
      else violations.push(violation);
    }
    return { violations, lostByDesign, settle: notes };
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/**
 * Per-user limits at each instant: when a new hold was acknowledged, the units the same user held
 * or had bought of that SKU in reservations that surely held them throughout that request (acknowledged
 * before it was sent, and neither released, nor possibly expired, nor possibly lost with Redis's
 * data before it was answered), plus the new hold, may not exceed the limit.
 */
function limitOverruns(
  reservations: Reservation[],
  opsOf: Map<string, Op[]>,
  finalStatus: (r: Reservation) => string,
  lostByDesign: (ackedAt: number, seenAt: number) => boolean,
): Violation[] {
  const found: Violation[] = [];
  const earliestEnd = new Map<string, number>();
  for (const r of reservations) {
    if (finalStatus(r) === 'COMMITTED') {
      earliestEnd.set(r.id, Infinity);
      continue;
    }
    let end = r.expiresAt;
    for (const op of opsOf.get(r.id) ?? []) {
      if (op.kind.startsWith('release')) end = Math.min(end, op.t0);
      if (op.kind === 'extend') {
        // An extend sets now + ttl; one with an unknown outcome may have run any time after it was sent.
        const ttlMs = Number((op.body as any)?.ttlSeconds) * 1000;
        end = Math.min(end, op.status === 200 ? Date.parse(op.answer.expiresAt) : op.t0 + ttlMs);
      }
      if (op.answer?.expiresAt && op.status === 201) end = Math.min(end, Date.parse(op.answer.expiresAt));
    }
    earliestEnd.set(r.id, end);
  }
  for (const [sku, limit] of Object.entries(LIMITS)) {
    if (limit === null) continue;
    const byUser = new Map<string, Reservation[]>();
    for (const r of reservations) if ((r.units.get(sku) ?? 0) > 0) (byUser.get(r.userId) ?? byUser.set(r.userId, []).get(r.userId)!).push(r);
    for (const [user, held] of byUser) {
      for (const fresh of held) {
        // Learned from a replay of an idempotency key after it had ended: not held then.
        const acknowledging = (opsOf.get(fresh.id) ?? []).find((op) => op.t1 === fresh.ackedAt && op.status === 201);
        if (acknowledging?.answer?.status !== 'PENDING') continue;
        const alongside = held.filter(
          (r) =>
            r !== fresh &&
            r.ackedAt <= fresh.sentAt &&
            earliestEnd.get(r.id)! > fresh.ackedAt + MARGIN_MS &&
            // A commit that survived kept its units counted; a pending hold may have gone with the data.
            (finalStatus(r) === 'COMMITTED' || !lostByDesign(r.ackedAt, fresh.ackedAt)),
        );
        const units = fresh.units.get(sku)! + alongside.reduce((sum, r) => sum + r.units.get(sku)!, 0);
        if (units <= limit) continue;
        found.push({
          invariant: 'per-user limit',
          detail: `${user} held or had bought ${units} of ${sku} (limit ${limit}) when ${fresh.id} was acknowledged at ${iso(fresh.ackedAt)}, beside ${alongside.map((r) => r.id).join(', ')}`,
          resId: fresh.id,
          sku,
          at: fresh.ackedAt,
        });
      }
    }
  }
  return found;
}

/**
 * The expiry in force when `op` ran: the one of the last reserve or extend acknowledged before it
 * was sent, or the shortest of an extend racing it (an extend sets now + ttl, which may shorten
 * the hold). Undefined when an extend with an unknown outcome may have applied.
 */
/**
 * The expiry in force when `op` was sent (the latest acknowledged reserve or extend before it, or
 * an earlier one an extend in flight may have shortened it to), and when the answer that set it
 * was acknowledged: a loss of Redis data undoes an extend by its own acknowledgement, not by the
 * reserve's.
 */
function deadlineFor(r: Reservation, ops: Op[], op: Op): { deadline: number; setAt: number } | undefined {
  let deadline = r.createdAt;
  let inForceAt = -Infinity;
  for (const other of ops) {
    const expiry = other.answer?.expiresAt ? Date.parse(other.answer.expiresAt) : undefined;
    const setsExpiry = other.kind.startsWith('reserve') || other.kind === 'extend';
    if (!setsExpiry || other === op) continue;
    if (other.t1 <= op.t0 && other.status >= 200 && other.status < 300 && expiry !== undefined && other.t1 >= inForceAt) {
      deadline = expiry;
      inForceAt = other.t1;
    }
  }
  if (inForceAt === -Infinity) return undefined;
  for (const other of ops) {
    if (other.kind !== 'extend' || other === op || other.t0 >= op.t1 || other.t1 < inForceAt) continue;
    // No answer, or 503 (API.md: an extend answered 503 may or may not have taken effect).
    if (other.status !== 200 && (other.code === undefined || other.code === 'UNAVAILABLE')) return undefined;
    if (other.t1 > op.t0 && other.status === 200) deadline = Math.min(deadline, Date.parse(other.answer.expiresAt));
  }
  return { deadline, setAt: inForceAt };
}

export const iso = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/**
 * Rows summed per SKU's own name (a split SKU's buckets, src/domain/buckets.ts, into the SKU), keyed
 * by `keyOf` of the summed row: the counters added up, the other fields the first row's.
 */
function sumByOwnName(rows: readonly any[], keyOf: (row: any) => string): Map<string, any> {
  const sums = new Map<string, any>();
  for (const row of rows) {
    const own = { ...row, sku: parseBucketSku(String(row.sku)).sku };
    const key = keyOf(own);
    const sum = sums.get(key);
    if (!sum) sums.set(key, own);
    else for (const field of ['total', 'available', 'reserved', 'sold']) sum[field] = Number(sum[field]) + Number(own[field] ?? 0);
  }
  return sums;
}

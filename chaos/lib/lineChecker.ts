/* eslint-disable @typescript-eslint/no-explicit-any -- answers' JSON bodies and rows are read field by field */
import { setTimeout as sleep } from 'node:timers/promises';
import type postgres from 'postgres';
import { RedisKeys } from '../../src/redis/keys';
import { type TicketRecord, decodeTicket } from '../../src/redis/lineTicket';
import { type Violation, iso } from './checker';
import { LINE_SKU } from './lineWorkload';
import { type History, type Op, call } from './workload';
import type { World } from './world';

/**
 * Invariant 8 (docs/reliability.md#the-chaos-campaign) for the campaign's lined SKU, proved from
 * the clients' history: the ticket answers they got (joins, reads, leaves) and the holds admitted
 * tickets were given, with what Redis and Postgres hold once the run settled as a complement.
 */

/** How far a client's clock reading may trail the Redis time an answer named (one machine, one clock: only the reading's delay). */
const MARGIN_MS = 300;

/** What the clients saw of a ticket in one answer. */
interface Sighting {
  seq: number;
  kind: string;
  t0: number;
  t1: number;
  status: string;
  /** An admitted ticket's hold: its id and when it was made (Redis time). */
  holdId?: string;
  admittedAt?: number;
}

interface TicketStory {
  id: string;
  userId: string;
  qty: number;
  lobby: boolean;
  /** When its user first asked to join (the ticket cannot be older) and when an answer first named it (it surely existed). */
  joinFrom: number;
  joinBy: number;
  sightings: Sighting[];
}

/** Whether a loss of Redis data after `ackedAt` and before `seenAt` may explain what was seen (lost by design). */
export type LostWithData = (ackedAt: number, seenAt: number) => boolean;

/** Records a violation, or counts it lost by design when a loss of Redis data between `ackedAt` and `seenAt` explains it. */
type Flag = (violation: Violation, ackedAt: number, seenAt: number) => void;

export interface LineResult {
  violations: Violation[];
  lostByDesign: Violation[];
  notes: string[];
}

/**
 * Once the clients stopped, tickets still waiting are admitted as units come back and their holds
 * expire in turn: waits (at most 60 s) until nothing is held and nothing waits, reading only the
 * SKU's view (a ticket read would serve the line itself, hiding a line left unserved).
 */
export async function settleLine(world: World, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  let view: any;
  while (Date.now() - started < 60_000) {
    view = (await call(world.engines[0], 'GET', `/v1/skus/${LINE_SKU}`)).body;
    if (view?.reserved === 0 && (view.line?.waiting ?? 0) === 0) break;
    await sleep(500);
  }
  log(`line settled after ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify({ available: view?.available, reserved: view?.reserved, sold: view?.sold, line: view?.line })}`);
}

/** Every ticket of the lined SKU in Redis, by id (null when Redis cannot be read). */
async function rawTickets(world: World): Promise<Map<string, TicketRecord> | null> {
  const keys = new RedisKeys('fs', world.partitions);
  try {
    const all = await world.redisClient().hgetall(keys.tickets(keys.partitionOfSku(LINE_SKU)));
    return new Map(Object.entries(all).map(([id, text]) => [id, decodeTicket(text)] as const).filter(([, t]) => t.sku === LINE_SKU));
  } catch {
    return null;
  }
}

/** The checker's own read of every ticket the clients know, after the end state was judged; recorded like a client's. */
async function finalReads(world: World, ids: string[]): Promise<Op[]> {
  const reads: Op[] = [];
  const read = async (id: string, n: number) => {
    const t0 = Date.now();
    const answer = await call(world.engines[n % world.engines.length], 'GET', `/v1/line-tickets/${id}`);
    reads.push({ seq: 0, client: -2, kind: 'line-final-read', engine: '', method: 'GET', path: `/v1/line-tickets/${id}`, t0, t1: Date.now(), status: answer.status, answer: answer.body, ticketId: id });
  };
  for (let start = 0; start < ids.length; start += 8) await Promise.all(ids.slice(start, start + 8).map((id, n) => read(id, n)));
  return reads;
}

/** The tickets as the answers told them, with the users' first join attempts. */
function stories(ops: Op[]): Map<string, TicketStory> {
  const firstJoin = new Map<string, number>();
  for (const op of ops) {
    const userId = (op.body as any)?.userId;
    if (op.kind.startsWith('line-join') && userId) firstJoin.set(userId, Math.min(firstJoin.get(userId) ?? Infinity, op.t0));
  }
  const tickets = new Map<string, TicketStory>();
  for (const op of ops) {
    const t = op.answer;
    if (!op.ticketId || op.status < 200 || op.status >= 300 || t?.id !== op.ticketId || !t.status) continue;
    let story = tickets.get(t.id);
    if (!story) {
      story = { id: t.id, userId: t.userId, qty: t.qty, lobby: false, joinFrom: firstJoin.get(t.userId) ?? op.t0, joinBy: op.t1, sightings: [] };
      tickets.set(t.id, story);
    }
    story.lobby ||= t.lobby === true;
    story.joinBy = Math.min(story.joinBy, op.t1);
    const hold = t.status === 'ADMITTED' ? t.reservation : undefined;
    story.sightings.push({ seq: op.seq, kind: op.kind, t0: op.t0, t1: op.t1, status: t.status, holdId: hold?.id, admittedAt: hold ? Date.parse(hold.createdAt) : undefined });
  }
  return tickets;
}

const seenAs = (story: TicketStory, status: string) => story.sightings.filter((s) => s.status === status);
const firstT1 = (sightings: Sighting[]) => Math.min(...sightings.map((s) => s.t1));
const describe = (s: Sighting) => `#${s.seq} ${s.kind} answered ${s.status} at ${iso(s.t1)}`;

/** What the line is judged on: every request and answer, and the state once the run settled. */
export interface LineFacts {
  /** The clients' requests, then the checker's own reads of every ticket they know. */
  ops: Op[];
  /** The SKU's view and its tickets in Redis (null: unreadable), read after the settle before any ticket was. */
  view: any;
  raw: Map<string, TicketRecord> | null;
  /** Postgres: RESERVE movements per hold of the SKU, and the holds it has of the SKU. */
  reserveMoves: Map<string, number>;
  inPostgres: Set<string>;
  /** When the facts were gathered. */
  now: number;
}

export async function checkLine(world: World, history: History, sql: postgres.Sql, lostWithData: LostWithData): Promise<LineResult> {
  // The end state first, before any ticket is read (a read serves the line).
  const view = (await call(world.engines[0], 'GET', `/v1/skus/${LINE_SKU}`)).body;
  const raw = await rawTickets(world);
  const reads = await finalReads(world, [...stories(history.ops).keys()]);
  const reserveMoves = new Map<string, number>();
  for (const row of await sql`select reservation_id, count(*)::int as n from stock_movements where type = 'RESERVE' and sku = ${LINE_SKU} group by reservation_id`) reserveMoves.set(row.reservation_id, row.n);
  const inPostgres = new Set((await sql`select reservation_id from reservation_items where sku = ${LINE_SKU}`).map((row: any) => row.reservation_id as string));
  return judgeLine({ ops: [...history.ops, ...reads], view, raw, reserveMoves, inPostgres, now: Date.now() }, lostWithData);
}

/** Every line invariant over the facts (no I/O: a history saved by a campaign can be judged again). */
export function judgeLine(facts: LineFacts, lostWithData: LostWithData): LineResult {
  const violations: Violation[] = [];
  const lostByDesign: Violation[] = [];
  const flag: Flag = (violation, ackedAt, seenAt) => (lostWithData(ackedAt, seenAt) ? lostByDesign : violations).push(violation);
  const { ops, view, raw, now } = facts;
  checkEnd(view, raw, violations);
  const tickets = stories(ops);
  checkOnePerUser(tickets, flag);
  checkAdmissions(tickets, facts.reserveMoves, now, flag);
  checkLeaving(tickets, raw, facts.inPostgres, now, flag);
  checkOrder(tickets, flag);
  if (raw) checkRecordedOrder(tickets, raw, now, flag);
  checkProbes(ops, flag);

  const counts = new Map<string, number>();
  for (const story of tickets.values()) {
    const last = story.sightings.reduce((a, b) => (b.t1 > a.t1 ? b : a));
    counts.set(last.status, (counts.get(last.status) ?? 0) + 1);
  }
  const probes = ops.filter((op) => op.kind === 'line-reserve');
  const notes = [
    `line: ${tickets.size} tickets known to the clients (last seen ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}), ${raw ? `${raw.size} in Redis` : 'Redis unreadable'}; ` +
      `${probes.length} reserves on the lined SKU, ${probes.filter((op) => op.code === 'LINE_REQUIRED').length} refused LINE_REQUIRED`,
  ];
  return { violations, lostByDesign, notes };
}

/** After the settle: nothing waits that the units available could serve, and the view counts the tickets Redis holds. */
function checkEnd(view: any, raw: Map<string, TicketRecord> | null, violations: Violation[]) {
  if (!view?.line) {
    violations.push({ invariant: 'the line view counts its tickets', detail: `${LINE_SKU} has no line at the end: ${JSON.stringify(view)}`, sku: LINE_SKU });
    return;
  }
  const waiting = raw ? [...raw].filter(([, t]) => t.status === 'WAITING') : [];
  for (const [id, t] of waiting) {
    if (t.qty <= view.available)
      violations.push({ invariant: 'no ticket waits while units are available', detail: `${id} (${t.userId}, ${t.qty} units) still WAITING after the settle with ${view.available} available: ${JSON.stringify(view)}`, resId: id, sku: LINE_SKU });
  }
  if (!raw) return;
  const admitted = [...raw.values()].filter((t) => t.status === 'ADMITTED').length;
  if (view.line.waiting !== waiting.length || view.line.admitted !== admitted)
    violations.push({ invariant: 'the line view counts its tickets', detail: `view says ${JSON.stringify(view.line)}, Redis holds ${waiting.length} WAITING and ${admitted} ADMITTED tickets`, sku: LINE_SKU });
}

/** A user who joins again is answered the ticket they have. */
function checkOnePerUser(tickets: Map<string, TicketStory>, flag: Flag) {
  const byUser = new Map<string, TicketStory[]>();
  for (const story of tickets.values()) byUser.set(story.userId, [...(byUser.get(story.userId) ?? []), story]);
  for (const [userId, own] of byUser) {
    if (own.length < 2) continue;
    own.sort((a, b) => a.joinBy - b.joinBy);
    flag({ invariant: 'one ticket per user', detail: `${userId} was answered tickets ${own.map((s) => `${s.id} (first named ${iso(s.joinBy)})`).join(', ')}`, resId: own[1].id, sku: LINE_SKU }, own[0].joinBy, own[1].joinBy);
  }
}

/** A ticket is admitted once: its hold takes its id, every answer names the same hold, it never waits again, and Postgres has one RESERVE for it. */
function checkAdmissions(tickets: Map<string, TicketStory>, reserveMoves: Map<string, number>, now: number, flag: Flag) {
  for (const story of tickets.values()) {
    const admitted = seenAs(story, 'ADMITTED');
    const at = (v: Omit<Violation, 'invariant'>): Violation => ({ invariant: 'one admission per ticket', resId: story.id, sku: LINE_SKU, ...v });
    // Redis or, once Redis no longer keeps the hold's record, Postgres names it.
    for (const s of admitted) {
      if (s.holdId === undefined) flag(at({ detail: `${story.id}: ${describe(s)} without its hold (reservation null)` }), story.joinBy, s.t1);
      else if (s.holdId !== story.id) flag(at({ detail: `${story.id}: ${describe(s)} with a hold named ${s.holdId}` }), story.joinBy, s.t1);
    }
    const held = admitted.filter((s) => s.admittedAt !== undefined);
    if (held.length) {
      const first = held.reduce((a, b) => (b.t1 < a.t1 ? b : a));
      const other = held.find((s) => s.admittedAt !== first.admittedAt);
      if (other) flag(at({ detail: `${story.id}: held at ${iso(first.admittedAt!)} (${describe(first)}), then at ${iso(other.admittedAt!)} (${describe(other)})` }), first.t1, other.t1);
      const again = seenAs(story, 'WAITING').find((s) => s.t0 > first.t1);
      if (again) flag(at({ detail: `${story.id}: ${describe(first)}, then ${describe(again)}` }), first.t1, again.t1);
    }
    const moves = reserveMoves.get(story.id) ?? 0;
    if (moves > 1) flag(at({ detail: `${story.id}: ${moves} RESERVE movements in Postgres` }), admitted.length ? firstT1(admitted) : story.joinBy, now);
  }
}

/** A ticket answered LEFT is never admitted: no answer says ADMITTED, and Postgres has no hold with its id. */
function checkLeaving(tickets: Map<string, TicketStory>, raw: Map<string, TicketRecord> | null, inPostgres: Set<string>, now: number, flag: Flag) {
  const left = new Map<string, number>();
  for (const story of tickets.values()) {
    const sightings = seenAs(story, 'LEFT');
    if (sightings.length) left.set(story.id, firstT1(sightings));
  }
  for (const [id, t] of raw ?? []) if (t.status === 'LEFT' && !left.has(id)) left.set(id, t.atMs ?? now);
  for (const [id, leftAt] of left) {
    const admitted = tickets.get(id) ? seenAs(tickets.get(id)!, 'ADMITTED') : [];
    const v = (detail: string): Violation => ({ invariant: 'no admission after leaving', detail, resId: id, sku: LINE_SKU });
    if (admitted.length) {
      const admittedAt = firstT1(admitted);
      flag(v(`${id} answered LEFT at ${iso(leftAt)} and ADMITTED at ${iso(admittedAt)}`), Math.min(leftAt, admittedAt), Math.max(leftAt, admittedAt));
    } else if (inPostgres.has(id)) flag(v(`${id} left at ${iso(leftAt)}, but Postgres has a hold with its id`), leftAt, now);
  }
}

/**
 * Line order from the clients' side: a ticket whose join was answered before another's was sent
 * is ahead of it, whatever the units either wants (a line admits strictly in order: a ticket
 * wanting 2 is not passed by one wanting 1). So when the later one is admitted, the earlier one
 * may no longer wait: a sighting of it WAITING asked for after that admission, or its own
 * admission after it, is a violation.
 */
function checkOrder(tickets: Map<string, TicketStory>, flag: Flag) {
  const inOrder = [...tickets.values()].filter((s) => !s.lobby).sort((a, b) => a.joinBy - b.joinBy);
  const admittedAt = (s: TicketStory) => seenAs(s, 'ADMITTED').find((x) => x.admittedAt !== undefined)?.admittedAt;
  for (const later of inOrder) {
    const aLater = admittedAt(later);
    if (aLater === undefined) continue;
    for (const earlier of inOrder) {
      if (earlier.joinBy >= later.joinFrom) break;
      const waited = seenAs(earlier, 'WAITING').find((s) => s.t0 > aLater + MARGIN_MS);
      const aEarlier = admittedAt(earlier);
      const evidence = waited ? describe(waited) : aEarlier !== undefined && aEarlier > aLater ? `admitted itself at ${iso(aEarlier)}` : undefined;
      if (!evidence) continue;
      flag(
        {
          invariant: 'line order',
          detail: `${later.id} (${later.qty} units, join sent ${iso(later.joinFrom)}) admitted at ${iso(aLater)} while ${earlier.id} (${earlier.qty} units, join answered ${iso(earlier.joinBy)}, ahead) still waited: ${evidence}`,
          resId: later.id,
          sku: LINE_SKU,
        },
        // A loss of Redis data after the later admission may have taken the earlier one's (made in the same step or before it).
        aLater,
        waited?.t1 ?? aEarlier!,
      );
      break;
    }
  }
}

/**
 * Line order from what Redis recorded once the run settled, covering the tickets whose answers
 * were lost too: each ticket's place agrees with the clients' order of joins, and no ticket was
 * admitted (at its recorded time) while one placed ahead of it still waited (until it was
 * admitted or ended, or to this day).
 */
function checkRecordedOrder(tickets: Map<string, TicketStory>, raw: Map<string, TicketRecord>, now: number, flag: Flag) {
  const place = (s: TicketStory) => raw.get(s.id)!.place;
  const byAnswer = [...tickets.values()].filter((s) => raw.get(s.id) && place(s) >= 0).sort((a, b) => a.joinBy - b.joinBy);
  // furthest[i]: the ticket placed furthest back among the first i + 1 answered.
  const furthest: TicketStory[] = [];
  byAnswer.forEach((s, i) => furthest.push(i && place(furthest[i - 1]) > place(s) ? furthest[i - 1] : s));
  for (const story of byAnswer) {
    const before = answeredBefore(byAnswer, story.joinFrom);
    const back = before && furthest[before - 1];
    if (back && place(back) > place(story))
      flag({ invariant: 'line order', detail: `${story.id} (join sent ${iso(story.joinFrom)}) is placed at ${place(story)}, ahead of ${back.id} (join answered ${iso(back.joinBy)}) at ${place(back)}`, resId: story.id, sku: LINE_SKU }, back.joinBy, now);
  }
  const byPlace = [...raw].filter(([, t]) => t.place >= 0).sort((a, b) => a[1].place - b[1].place);
  let ahead: [string, number] | undefined;
  for (const [id, t] of byPlace) {
    if (t.status === 'ADMITTED' && ahead && ahead[1] > t.atMs!)
      flag({ invariant: 'line order', detail: `${id} (place ${t.place}) admitted at ${iso(t.atMs!)} while ${ahead[0]} (place ${raw.get(ahead[0])!.place}, ${raw.get(ahead[0])!.status}) waited until ${Number.isFinite(ahead[1]) ? iso(ahead[1]) : 'now'}`, resId: id, sku: LINE_SKU }, t.atMs!, Math.min(ahead[1], now));
    const waitedUntil = t.status === 'WAITING' ? Infinity : (t.atMs ?? Infinity);
    if (!ahead || waitedUntil > ahead[1]) ahead = [id, waitedUntil];
  }
}

/** How many of `sorted` (by joinBy) were answered before `t`. */
function answeredBefore(sorted: TicketStory[], t: number): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle].joinBy < t) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** A reserve naming the lined SKU is refused LINE_REQUIRED, unless a loss of Redis data took the line since it was last set. */
function checkProbes(ops: Op[], flag: Flag) {
  const lineSet = ops.filter((op) => op.kind === 'line-admin-set' && (op.status === 200 || op.status === 201)).map((op) => op.t1);
  for (const op of ops) {
    if (op.kind !== 'line-reserve' || op.status !== 201) continue;
    const setAt = Math.max(0, ...lineSet.filter((t) => t < op.t0));
    flag({ invariant: 'a lined SKU is reserved only through its line', detail: `#${op.seq} reserve of ${LINE_SKU} answered 201 ${op.answer?.id} at ${iso(op.t1)}`, resId: op.answer?.id, sku: LINE_SKU, at: op.t1 }, setAt, op.t1);
  }
}

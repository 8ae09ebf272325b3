/* eslint-disable @typescript-eslint/no-explicit-any -- answers' JSON bodies are read field by field */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from './random';
import type { History, Op, Reservation, Send } from './workload';

/**
 * The campaign's lined SKU (docs/api.md#waiting-lines): reserved only
 * through its line. Its own clients join it (new users, and users joining again), read and leave
 * tickets, and act as admitted shoppers: commit, release, or walk away (the hold expires and its
 * units go to the next ticket). An admin restocks it, adjusts it and PUTs it again with a hold of
 * 2 to 4 s; a probe reserves it directly, which must be refused LINE_REQUIRED.
 */
export const LINE_SKU = 'q0';
const INITIAL_TOTAL = 30;
/** Clients of the line, beside the campaign's others. */
const CLIENTS = 4;
/** Joins pause while the clients know of this many waiting tickets: once the run ends the line drains within a few holds. */
const WAITING_CAP = 20;
/** Restocked when fewer units than this are left unsold, so the line keeps admitting. */
const RESTOCK_BELOW = 4;

/**
 * A PUT of the lined SKU: its total, no limit or window, and a line whose admitted holds last 2 to
 * 4 s; split into two buckets, so the line runs in the first while the second sells nothing
 * (docs/api.md#hot-skus-buckets).
 */
export function linePutBody(total: number, holdTtlSeconds: number) {
  return { total, perUserLimit: null, startsAt: null, endsAt: null, line: { holdTtlSeconds }, buckets: 2 };
}

/** What the line's clients need of the campaign's workload. */
export interface Shop {
  readonly history: History;
  send: Send;
  learn(op: Op, body?: any): void;
  afterReserve(op: Op): void;
  finish(client: number, kind: 'commit' | 'release', random: Random, reservation: Reservation | undefined): Promise<void>;
}

/** A ticket as the clients last saw it. */
interface KnownTicket {
  id: string;
  userId: string;
  status: string;
  /** An admitted shopper acts once: commit, release or walk away. */
  acted: boolean;
}

export class LineClients {
  private readonly tickets = new Map<string, KnownTicket>();
  /** Every user who sent a join, with the units they asked for. */
  private readonly users: { userId: string; qty: number }[] = [];
  private nextUser = 0;
  private total = INITIAL_TOTAL;
  private unitsLeft = INITIAL_TOTAL;

  constructor(
    private readonly shop: Shop,
    private readonly random: Random,
  ) {}

  async setUp() {
    for (let attempt = 0; attempt < 20; attempt++) {
      const op = await this.shop.send(-1, 'line-admin-set', 'PUT', `/v1/admin/skus/${LINE_SKU}`, linePutBody(INITIAL_TOTAL, 3), { admin: true });
      if (op.status === 200 || op.status === 201) return;
      await sleep(250);
    }
  }

  /** Puts the line back on the SKU if a loss of Redis data took it (the rebuild knows only what Postgres keeps), so the end state can be checked. */
  async restore() {
    for (let attempt = 0; attempt < 120; attempt++) {
      const view = await this.shop.send(-1, 'line-view', 'GET', `/v1/skus/${LINE_SKU}`);
      if (view.status === 200 && view.answer?.line) return;
      if (view.status === 200 || view.status === 404) {
        const put = await this.shop.send(-1, 'line-admin-set', 'PUT', `/v1/admin/skus/${LINE_SKU}`, linePutBody(view.answer?.total ?? INITIAL_TOTAL, 3), { admin: true });
        if (put.status === 200 || put.status === 201) return;
      }
      await sleep(500);
    }
  }

  async run(until: number, maxOpsPerClient: number) {
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, n) => {
        const random = this.random.fork();
        const client = 100 + n;
        for (let i = 0; i < maxOpsPerClient && Date.now() < until; i++) {
          await this.step(client, random);
          await sleep(random.int(0, 25));
        }
      }),
    );
  }

  private async step(client: number, random: Random) {
    const admitted = [...this.tickets.values()].filter((t) => t.status === 'ADMITTED' && !t.acted);
    if (admitted.length && random.chance(0.5)) return this.act(client, random.pick(admitted), random);
    const waiting = [...this.tickets.values()].filter((t) => t.status === 'WAITING').length;
    const kind = random.weighted({ join: waiting < WAITING_CAP ? 24 : 0, joinAgain: 5, read: 30, leave: 5, probe: 2, view: 4, adjust: this.unitsLeft < RESTOCK_BELOW ? 4 : 2, set: 1 });
    switch (kind) {
      case 'join': {
        const user = { userId: `q${client}-${this.nextUser++}`, qty: { one: 1, two: 2, three: 3 }[random.weighted({ one: 6, two: 2, three: 1 })] };
        this.users.push(user);
        const op = await this.join(client, 'line-join', user.userId, user.qty, random);
        // A join whose answer was lost is sent again: one ticket per user, so it is answered the ticket it made, if any.
        if (op.status === 0 || op.status === 503) {
          await sleep(random.int(50, 400));
          await this.join(client, 'line-join-retry', user.userId, user.qty, random);
        }
        return;
      }
      case 'joinAgain': {
        if (!this.users.length) return;
        const user = this.users[this.users.length - 1 - random.int(0, Math.min(30, this.users.length - 1))];
        await this.join(client, 'line-join-again', user.userId, user.qty, random);
        return;
      }
      case 'read':
      case 'leave': {
        const ticket = this.someTicket(random);
        if (!ticket) return;
        const op = await this.shop.send(client, `line-${kind}`, kind === 'read' ? 'GET' : 'DELETE', `/v1/line-tickets/${ticket.id}`, undefined, { ticketId: ticket.id });
        this.observe(op);
        return;
      }
      case 'probe': {
        // Nobody jumps the line: a reserve naming the lined SKU is refused LINE_REQUIRED.
        const op = await this.shop.send(client, 'line-reserve', 'POST', '/v1/reservations', { userId: `q${client}-probe`, items: [{ sku: LINE_SKU, qty: 1 }], ttlSeconds: 2 });
        this.shop.afterReserve(op);
        if (op.status === 201) await this.shop.finish(client, 'release', random, this.shop.history.reservations.get(op.answer.id));
        return;
      }
      case 'view':
        this.see(await this.shop.send(client, 'line-view', 'GET', `/v1/skus/${LINE_SKU}`));
        return;
      case 'adjust': {
        const delta = this.unitsLeft < RESTOCK_BELOW ? random.int(5, 15) : random.chance(0.7) ? random.int(1, 5) : -random.int(1, 3);
        this.see(await this.shop.send(client, 'line-admin-adjust', 'POST', `/v1/admin/skus/${LINE_SKU}/adjust`, { delta, reason: 'chaos' }, { admin: true }));
        return;
      }
      case 'set':
        // A total below what is held and sold is refused, which is fine too.
        this.see(await this.shop.send(client, 'line-admin-set', 'PUT', `/v1/admin/skus/${LINE_SKU}`, linePutBody(this.total + random.int(-3, 8), random.int(2, 4)), { admin: true }));
        return;
    }
  }

  private async join(client: number, kind: string, userId: string, qty: number, random: Random): Promise<Op> {
    const body = { userId, qty, ...(random.chance(0.5) ? { orderId: `o-${random.id(6)}` } : {}) };
    const op = await this.shop.send(client, kind, 'POST', `/v1/skus/${LINE_SKU}/line`, body);
    this.observe(op);
    return op;
  }

  /** A ticket to read or leave: mostly one still waiting, some of any kind. */
  private someTicket(random: Random): KnownTicket | undefined {
    const all = [...this.tickets.values()];
    const waiting = all.filter((t) => t.status === 'WAITING');
    const from = waiting.length && random.chance(0.75) ? waiting : all;
    return from.length ? from[from.length - 1 - random.int(0, Math.min(40, from.length - 1))] : undefined;
  }

  /** An admitted shopper commits (60 %), releases (20 %) or walks away (20 %: the hold expires). */
  private async act(client: number, ticket: KnownTicket, random: Random) {
    ticket.acted = true;
    const choice = random.weighted({ commit: 3, release: 1, walkAway: 1 });
    if (choice === 'walkAway') return;
    await this.shop.finish(client, choice, random, this.shop.history.reservations.get(ticket.id));
  }

  /** Learns from a ticket answer: its status, and an admitted ticket's hold (a reservation like any other for the checks). */
  private observe(op: Op) {
    const t = op.answer;
    if (op.status < 200 || op.status >= 300 || !t?.id || !t.status) return;
    op.ticketId = t.id;
    const known = this.tickets.get(t.id) ?? { id: t.id, userId: t.userId, status: t.status, acted: false };
    known.status = t.status;
    this.tickets.set(t.id, known);
    if (typeof t.unitsLeft === 'number') this.unitsLeft = t.unitsLeft;
    if (t.status === 'ADMITTED' && t.reservation) this.shop.learn(op, t.reservation);
  }

  /** Learns the SKU's total and what is left unsold from a view. */
  private see(op: Op) {
    const v = op.answer;
    if (op.status !== 200 || typeof v?.total !== 'number') return;
    this.total = v.total;
    this.unitsLeft = v.total - v.sold;
  }
}

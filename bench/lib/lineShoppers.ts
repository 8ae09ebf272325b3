import { setTimeout as sleep } from 'node:timers/promises';
import { type LoadResult, runLoad } from './load';
import type { Server } from './processes';

/** A join as its shopper saw it: when it was sent and answered (this process's clock), and the ticket answered. */
export interface Join {
  shopper: number;
  t0: number;
  t1: number;
  status: number;
  ticket?: any;
}

/** A ticket answered WAITING, and where its join put it: the Redis time of the join, then the units answered ahead. */
interface Waiting {
  id: string;
  shopper: number;
  joinedAt: number;
  unitsAhead: number;
  done: boolean;
}

/** One shopper in ten walks away from an admitted hold (it expires, and its unit goes to the next ticket); the others pay. */
export const walksAway = (shopper: number) => shopper % 10 === 7;

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * The shoppers of a waiting line: joins sent by autocannon (each answer recorded, shoppers
 * numbered from 1 across every run), and a bounded set of pollers that read the tickets nearest
 * the head, as a shopper's page would. A shopper admitted (by its join's answer, or found so by a
 * poller) acts at once: commits, or walks away.
 */
export class LineShoppers {
  readonly joins = new Map<number, Join>();
  /**
   * Waiting tickets nearly in line order (by the Redis time of their join, then the units ahead
   * they were answered; joins answered since the last sort wait in `fresh`): the pollers read the
   * first `window` not yet seen admitted or ended.
   */
  private frontier: Waiting[] = [];
  private fresh: Waiting[] = [];
  private headAt = 0;
  private sortedAt = 0;
  /** Admitted shoppers acting now: each acts at once, on its own, as a shopper would. */
  private readonly acting = new Set<Promise<void>>();
  private nextShopper = 1;
  private stopped = false;
  private running?: Promise<void>;
  polls = 0;
  commits = 0;
  walkedAway = 0;
  /** How long each commit took, ms (the one that sells the last unit ends every ticket still waiting, SOLD_OUT). */
  commitMs: number[] = [];

  constructor(
    private readonly engine: Server,
    private readonly sku: string,
    private readonly options: { pollers: number; window: number; pollPauseMs: number },
  ) {}

  /**
   * `amount` joins of new shoppers at `connections`; the answers are recorded when `server` is the
   * engine. Also the steady rate: answers per second between the 10th and the 90th percentile of
   * their times, leaving out the start, where a thousand connections opened at once overflow the
   * server's accept queue (a dropped SYN is sent again a second later), and the tail.
   */
  async joinLoad(server: Server, label: string, amount: number, connections: number, progress?: (line: string) => void, measured = true): Promise<{ load: LoadResult; steadyRps: number }> {
    const record = server === this.engine;
    const answeredAt: number[] = [];
    const load = await runLoad({
      label,
      url: server.url,
      connections,
      amount,
      progress,
      cpu: measured ? server.cpu : undefined,
      requests: [
        {
          method: 'POST',
          path: `/v1/skus/${this.sku}/line`,
          headers: JSON_HEADERS,
          setupRequest: (request, context: any) => {
            context.shopper = this.nextShopper++;
            context.t0 = Date.now();
            return { ...request, body: JSON.stringify({ userId: `shopper-${context.shopper}`, qty: 1 }) };
          },
          onResponse: (status, body, context: any) => {
            const t1 = Date.now();
            answeredAt.push(t1);
            if (record) this.answered({ shopper: context.shopper, t0: context.t0, t1, status, ticket: status === 202 ? JSON.parse(body) : undefined });
          },
        },
      ],
    });
    const [from, to] = [Math.floor(answeredAt.length * 0.1), Math.floor(answeredAt.length * 0.9)];
    return { load, steadyRps: Math.round(((to - from) * 1000) / Math.max(1, answeredAt[to] - answeredAt[from])) };
  }

  private answered(join: Join) {
    this.joins.set(join.shopper, join);
    if (join.ticket?.status === 'ADMITTED') this.admit(join.ticket.id, join.shopper);
    else if (join.ticket?.status === 'WAITING')
      this.fresh.push({ id: join.ticket.id, shopper: join.shopper, joinedAt: Date.parse(join.ticket.joinedAt), unitsAhead: join.ticket.unitsAhead, done: false });
  }

  /** The first `window` tickets of the frontier still waiting, as far as the pollers know. */
  private head(): Waiting[] {
    if (this.fresh.length && Date.now() - this.sortedAt > 200) {
      this.frontier = [...this.frontier.slice(this.headAt).filter((w) => !w.done), ...this.fresh].sort((a, b) => a.joinedAt - b.joinedAt || a.unitsAhead - b.unitsAhead);
      this.fresh = [];
      this.headAt = 0;
      this.sortedAt = Date.now();
    }
    while (this.headAt < this.frontier.length && this.frontier[this.headAt].done) this.headAt++;
    const head: Waiting[] = [];
    for (let i = this.headAt; i < this.frontier.length && head.length < this.options.window; i++) if (!this.frontier[i].done) head.push(this.frontier[i]);
    return head;
  }

  /** Starts the pollers; they run until stop(). */
  start() {
    this.running = Promise.all(Array.from({ length: this.options.pollers }, (_, n) => this.poller(n))).then(() => {});
  }

  async stop() {
    this.stopped = true;
    await this.running;
    await Promise.all(this.acting);
  }

  /** An admitted shopper acts at once (a join before the pollers started is a warm-up's: nobody acts on it). */
  private admit(id: string, shopper: number) {
    if (!this.running) return;
    const acting = this.act(id, shopper).finally(() => this.acting.delete(acting));
    this.acting.add(acting);
  }

  private async poller(n: number) {
    let turn = n;
    while (!this.stopped) {
      // The next of the first `window` waiting tickets, in turn.
      const head = this.head();
      if (!head.length) {
        await sleep(this.options.pollPauseMs);
        continue;
      }
      const waiting = head[turn++ % head.length];
      const ticket = await this.read(waiting.id);
      if (ticket && ticket.status !== 'WAITING' && !waiting.done) {
        waiting.done = true;
        if (ticket.status === 'ADMITTED') this.admit(waiting.id, waiting.shopper);
      }
      await sleep(this.options.pollPauseMs);
    }
  }

  private async read(id: string): Promise<any> {
    this.polls++;
    const response = await fetch(`${this.engine.url}/v1/line-tickets/${id}`).catch(() => undefined);
    return response?.ok ? response.json() : undefined;
  }

  private async act(id: string, shopper: number) {
    if (walksAway(shopper)) {
      this.walkedAway++;
      return;
    }
    const started = Date.now();
    const response = await fetch(`${this.engine.url}/v1/reservations/${id}/commit`, { method: 'POST' }).catch(() => undefined);
    this.commitMs.push(Date.now() - started);
    if (response?.ok) this.commits++;
    await response?.text();
  }

  /** Reads every ticket the joins were answered (autocannon, 100 connections); the answers by id. */
  async readAll(label: string, progress?: (line: string) => void): Promise<{ load: LoadResult; tickets: Map<string, any> }> {
    const ids = [...this.joins.values()].flatMap((join) => (join.ticket ? [join.ticket.id as string] : []));
    const tickets = new Map<string, any>();
    let next = 0;
    const load = await runLoad({
      label,
      url: this.engine.url,
      connections: 100,
      amount: ids.length,
      progress,
      requests: [
        {
          method: 'GET',
          setupRequest: (request) => ({ ...request, path: `/v1/line-tickets/${ids[Math.min(next++, ids.length - 1)]}` }),
          onResponse: (status, body) => {
            if (status === 200) {
              const ticket = JSON.parse(body);
              tickets.set(ticket.id, ticket);
            }
          },
        },
      ],
    });
    // Any the run left out (it stops at `amount` answers, whatever was in flight).
    for (const id of ids) if (!tickets.has(id)) tickets.set(id, await (await fetch(`${this.engine.url}/v1/line-tickets/${id}`)).json());
    return { load, tickets };
  }
}

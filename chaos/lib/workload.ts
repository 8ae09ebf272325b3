/* eslint-disable @typescript-eslint/no-explicit-any -- answers' JSON bodies are read field by field */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { carriedOverGrpc } from '../../tools/grpcAsHttp';
import { GrpcTransport } from './grpcTransport';
import { LineClients } from './lineWorkload';
import type { Random } from './random';
import { CHAOS_ADMIN_TOKEN, type Engine } from './world';

export const SKUS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
/** Per-user limits of the SKUs that have one (fixed for the campaign: admin PUTs keep them). */
export const LIMITS: Record<string, number | null> = { c0: 4, c1: 3, c2: null, c3: null, c4: 6, c5: null, c6: 3 };
/**
 * SKUs split into buckets (src/domain/buckets.ts), and how many: their units move between
 * partitions. c6 has a per-user limit; c2 has none, so its refusals are answered from what the
 * engines know once it sells out (docs/architecture.md#sold-out-answers).
 */
export const BUCKETS: Record<string, number> = { c2: 2, c6: 3 };
export const INITIAL_TOTAL = 40;
/** SKUs whose stock sits in several locations (priority order; c2's split into buckets too); the others keep theirs in "default". */
export const LOCATIONS: Record<string, string[]> = { c2: ['east', 'west'], c5: ['north', 'centre', 'south'] };

/**
 * The PUT body's stock for `total` units: split over the SKU's locations (the first takes the
 * rest), or a plain total. With `random`, a location other than the first is sometimes left out
 * (retired while holds sit there), to come back with a later PUT.
 */
function stockOf(sku: string, total: number, random?: Random) {
  const buckets = BUCKETS[sku] ? { buckets: BUCKETS[sku] } : {};
  let locations = LOCATIONS[sku];
  if (!locations) return { total, ...buckets };
  if (random?.chance(0.3)) {
    const retired = random.pick(locations.slice(1));
    locations = locations.filter((location) => location !== retired);
  }
  const share = Math.floor(total / locations.length);
  return { locations: locations.map((location, n) => ({ location, total: n === 0 ? total - share * (locations.length - 1) : share })), ...buckets };
}
export const USERS = Array.from({ length: 40 }, (_, i) => `u${i}`);
/** The share of reservation calls (reserve, read, commit, release, extend), SKU reads and admin PUTs a client sends over gRPC rather than HTTP. */
const GRPC_SHARE = 0.25;

/** One request a client sent and the answer it got (status 0: no answer, the connection failed or timed out). */
export interface Op {
  seq: number;
  client: number;
  kind: string;
  engine: string;
  /** Sent over gRPC (the HTTP method and path name the call it stands for). */
  via?: 'grpc';
  method: string;
  path: string;
  body?: unknown;
  idemKey?: string;
  t0: number;
  t1: number;
  status: number;
  code?: string;
  message?: string;
  /** The reservation it concerns (known before, or learned from the answer; a ticket's answer names its id, which an admitted ticket's hold takes). */
  resId?: string;
  /** The line ticket it concerns (chaos/lib/lineWorkload.ts). */
  ticketId?: string;
  /** The answer's body, kept for reservations and SKU views only. */
  answer?: any;
  /** For a client that gave up on its call: the orderId its reserve carried. */
  gaveUpOrderId?: string;
}

/** What the clients learned of one reservation from answers. */
export interface Reservation {
  id: string;
  userId: string;
  /** Units held per SKU, from the 201. */
  units: Map<string, number>;
  createdAt: number;
  /** Latest expiresAt an answer acknowledged (ms). */
  expiresAt: number;
  /** Time of the first answer that acknowledged it (201), and when that request was sent. */
  ackedAt: number;
  sentAt: number;
  commitAckedAt?: number;
  releaseAckedAt?: number;
  commitTried: boolean;
  releaseTried: boolean;
}

export interface IdemKey {
  key: string;
  userId: string;
  body: unknown;
  /** Ids of every 201 this key produced. */
  ids: Set<string>;
}

export class History {
  ops: Op[] = [];
  /** Event-stream clients that connected and reset their connection (the checker reads the engines' stream gauges). */
  streamResets = 0;
  reservations = new Map<string, Reservation>();
  idemKeys = new Map<string, IdemKey>();
  private seq = 0;
  nextSeq() {
    return ++this.seq;
  }
}

/** How one request is sent: its key, admin token, the reservation or ticket it concerns, the engine (else in turn) and timeout. */
export interface SendOptions {
  idemKey?: string;
  admin?: boolean;
  resId?: string;
  ticketId?: string;
  engine?: Engine;
  timeoutMs?: number;
  /** Over gRPC, when the call has a gRPC equivalent (tools/grpcAsHttp.ts, carriedOverGrpc). */
  grpc?: boolean;
}

/** Sends one request and records it in the history. */
export type Send = (client: number, kind: string, method: string, path: string, body?: unknown, options?: SendOptions) => Promise<Op>;

export interface Answer {
  status: number;
  body: any;
}

/** How long a client waits for an answer before it gives up on the call. */
const DEFAULT_TIMEOUT_MS = 8000;

export async function call(engine: Engine, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Answer> {
  try {
    const response = await fetch(`${engine.url}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed };
  } catch {
    return { status: 0, body: null };
  }
}

export const adminHeaders = { authorization: `Bearer ${CHAOS_ADMIN_TOKEN}` };

/** Many concurrent clients spreading a mixed workload over the engines, recording everything in `history`. */
export class Workload {
  private turn = 0;
  /** The lined SKU's shoppers and admin. */
  private readonly line: LineClients;
  private readonly grpc = new GrpcTransport();

  constructor(
    private readonly engines: Engine[],
    readonly history: History,
    private readonly random: Random,
  ) {
    this.line = new LineClients(this, random.fork());
  }

  /** Sends one request and records it. */
  async send(
    client: number,
    kind: string,
    method: string,
    path: string,
    body?: unknown,
    options: SendOptions = {},
  ): Promise<Op> {
    const engine = options.engine ?? this.engines[this.turn++ % this.engines.length];
    const headers: Record<string, string> = { ...(options.admin ? adminHeaders : {}), ...(options.idemKey ? { 'idempotency-key': options.idemKey } : {}) };
    const viaGrpc = options.grpc === true && carriedOverGrpc(method, path);
    const t0 = Date.now();
    const answer = viaGrpc ? await this.grpc.call(engine, method, path, body, options.idemKey, options.timeoutMs ?? DEFAULT_TIMEOUT_MS) : await call(engine, method, path, body, headers, options.timeoutMs);
    const op: Op = { seq: this.history.nextSeq(), client, kind, engine: engine.name, method, path, body, idemKey: options.idemKey, t0, t1: Date.now(), status: answer.status, resId: options.resId, ticketId: options.ticketId };
    if (viaGrpc) op.via = 'grpc';
    if (answer.status >= 400) {
      op.code = answer.body?.error?.code;
      op.message = String(answer.body?.error?.message ?? '').slice(0, 160);
    }
    if (answer.status >= 200 && answer.status < 300 && answer.body && typeof answer.body === 'object') {
      if (answer.body.id && answer.body.status) op.resId = answer.body.id;
      if (answer.body.id || answer.body.sku) op.answer = answer.body;
    }
    this.history.ops.push(op);
    return op;
  }

  /** Learns from a reservation in an answer (`body`: the reservation, when the answer is not one itself: an admitted ticket's hold). */
  learn(op: Op, body: any = op.answer) {
    if (!body?.id || !body.status) return;
    let reservation = this.history.reservations.get(body.id);
    if (!reservation) {
      const units = new Map<string, number>();
      for (const item of body.items ?? []) units.set(item.sku, (units.get(item.sku) ?? 0) + (item.reserved ?? 0));
      reservation = {
        id: body.id,
        userId: body.userId,
        units,
        createdAt: Date.parse(body.createdAt),
        expiresAt: Date.parse(body.expiresAt),
        ackedAt: op.t1,
        sentAt: op.t0,
        commitTried: false,
        releaseTried: false,
      };
      this.history.reservations.set(body.id, reservation);
    }
    // The latest expiry any answer named (an extend may shorten a hold: settling waits for the latest).
    if (op.kind === 'extend' && op.status === 200) reservation.expiresAt = Math.max(reservation.expiresAt, Date.parse(body.expiresAt));
    if (op.kind.startsWith('commit') && body.status === 'COMMITTED') reservation.commitAckedAt ??= op.t1;
    if (op.kind.startsWith('release') && body.status === 'RELEASED') reservation.releaseAckedAt ??= op.t1;
  }

  private reserveBody(random: Random) {
    const lines = random.int(1, random.chance(0.7) ? 1 : 3);
    const skus = new Set<string>();
    while (skus.size < lines) skus.add(random.pick(SKUS));
    return {
      userId: random.pick(USERS),
      ...(random.chance(0.5) ? { orderId: `o-${random.id(6)}` } : {}),
      // On a SKU with locations, some lines name one.
      items: [...skus].map((sku) => ({ sku, qty: random.int(1, 3), ...(LOCATIONS[sku] && random.chance(0.3) ? { location: random.pick(LOCATIONS[sku]) } : {}) })),
      ttlSeconds: random.int(1, 4),
      allowPartial: random.chance(0.3),
    };
  }

  /** A reservation to act on: mostly recent ones, some old (expired, finished). */
  private someReservation(random: Random): Reservation | undefined {
    const ids = [...this.history.reservations.keys()];
    if (!ids.length) return undefined;
    const recent = random.chance(0.85);
    const index = recent ? ids.length - 1 - random.int(0, Math.min(20, ids.length - 1)) : random.int(0, ids.length - 1);
    return this.history.reservations.get(ids[index]);
  }

  private async step(client: number, random: Random) {
    const kind = random.weighted({ reserve: 30, reserveIdem: 14, retry: 6, giveUp: 3, commit: 18, release: 7, extend: 6, get: 6, view: 5, set: 2, adjust: 3, reconcile: 2 });
    switch (kind) {
      case 'giveUp': {
        // A client that hangs up 1 to 40 ms after sending its reserve (fetch aborts and closes the
        // connection; over gRPC, the call's deadline passes). The orderId names the call, so the
        // checker finds its hold in Postgres.
        const orderId = `gave-up-${random.id(10)}`;
        const op = await this.send(client, 'reserve-give-up', 'POST', '/v1/reservations', { ...this.reserveBody(random), orderId }, { timeoutMs: random.int(1, 40), grpc: random.chance(GRPC_SHARE) });
        if (op.status === 0) op.gaveUpOrderId = orderId;
        // An answer that came in time was received: an ordinary hold.
        this.afterReserve(op);
        return;
      }
      case 'reserve':
      case 'reserveIdem': {
        const body = this.reserveBody(random);
        const idemKey = kind === 'reserveIdem' ? `k ${random.id(10)}` : undefined;
        if (idemKey) this.history.idemKeys.set(idemKey, { key: idemKey, userId: body.userId, body, ids: new Set() });
        const op = await this.send(client, kind === 'reserve' ? 'reserve' : 'reserve-idem', 'POST', '/v1/reservations', body, { idemKey, grpc: random.chance(GRPC_SHARE) });
        this.afterReserve(op);
        if (idemKey && (op.status === 503 || op.status === 0)) await this.retryElsewhere(client, op, body, idemKey, random);
        return;
      }
      case 'retry': {
        const keys = [...this.history.idemKeys.values()];
        if (!keys.length) return;
        const idem = keys[keys.length - 1 - random.int(0, Math.min(10, keys.length - 1))];
        const op = await this.send(client, 'reserve-retry', 'POST', '/v1/reservations', idem.body, { idemKey: idem.key, grpc: random.chance(GRPC_SHARE) });
        this.afterReserve(op);
        return;
      }
      case 'commit':
      case 'release':
        await this.finish(client, kind, random, this.someReservation(random));
        return;
      case 'extend':
      case 'get': {
        const reservation = this.someReservation(random);
        if (!reservation) return;
        const id = reservation.id;
        const grpc = random.chance(GRPC_SHARE);
        const op =
          kind === 'get'
            ? await this.send(client, 'get', 'GET', `/v1/reservations/${id}`, undefined, { resId: id, grpc })
            : await this.send(client, 'extend', 'POST', `/v1/reservations/${id}/extend`, { ttlSeconds: random.int(1, 4) }, { resId: id, grpc });
        this.learn(op);
        return;
      }
      case 'view':
        await this.send(client, 'sku-view', 'GET', `/v1/skus/${random.pick(SKUS)}`, undefined, { grpc: random.chance(GRPC_SHARE) });
        return;
      case 'set': {
        const sku = random.pick(SKUS);
        // Totals only grow by PUT (a lower one may be refused, which is fine too).
        const body = { ...stockOf(sku, INITIAL_TOTAL + random.int(-10, 20), random), perUserLimit: LIMITS[sku], startsAt: null, endsAt: null };
        await this.send(client, 'admin-set', 'PUT', `/v1/admin/skus/${sku}`, body, { admin: true, grpc: random.chance(GRPC_SHARE) });
        return;
      }
      case 'adjust': {
        const sku = random.pick(SKUS);
        const location = LOCATIONS[sku] ? { location: random.pick(LOCATIONS[sku]) } : {};
        await this.send(client, 'admin-adjust', 'POST', `/v1/admin/skus/${sku}/adjust`, { delta: random.chance(0.5) ? random.int(1, 5) : -random.int(1, 5), reason: 'chaos', ...location }, { admin: true });
        return;
      }
      case 'reconcile': {
        const repair = random.chance(0.4);
        await this.send(client, repair ? 'reconcile-repair' : 'reconcile', 'POST', '/v1/admin/reconcile', { repair }, { admin: true });
        return;
      }
    }
  }

  /** Commits or releases a reservation; an answer that leaves the outcome open is retried once, as the API says to. */
  async finish(client: number, kind: 'commit' | 'release', random: Random, reservation: Reservation | undefined) {
    if (!reservation) return;
    const id = reservation.id;
    if (kind === 'commit') reservation.commitTried = true;
    else reservation.releaseTried = true;
    const grpc = random.chance(GRPC_SHARE);
    const op = await this.send(client, reservation.commitAckedAt && kind === 'commit' ? 'commit-repeat' : kind, 'POST', `/v1/reservations/${id}/${kind}`, undefined, { resId: id, grpc });
    this.learn(op);
    if (op.status === 0 || op.status === 503) {
      await sleep(random.int(50, 400));
      const retry = await this.send(client, `${kind}-retry`, 'POST', `/v1/reservations/${id}/${kind}`, undefined, { resId: id, grpc });
      this.learn(retry);
    }
  }

  /**
   * What a checkout does with a keyed reserve answered 503 (or not at all): it retries the same key
   * on the other engine until it gets an answer, as docs/api.md#when-redis-is-unreachable says it
   * may. Invariant 7 (docs/reliability.md#7-an-answer-is-a-promise): a 201 it gets is never undone
   * by the engine, and the key is not refused IDEMPOTENCY_IN_FLIGHT for long.
   */
  private async retryElsewhere(client: number, first: Op, body: unknown, idemKey: string, random: Random) {
    const other = this.engines.find((engine) => engine.name !== first.engine) ?? this.engines[0];
    for (let attempt = 0; attempt < 12; attempt++) {
      await sleep(random.int(100, 300));
      const op = await this.send(client, 'reserve-retry-elsewhere', 'POST', '/v1/reservations', body, { idemKey, engine: other });
      this.afterReserve(op);
      if (op.status !== 503 && op.status !== 0 && op.code !== 'IDEMPOTENCY_IN_FLIGHT') return;
    }
  }

  afterReserve(op: Op) {
    if (op.status === 201) this.learn(op);
    if (op.status === 201 && op.idemKey) this.history.idemKeys.get(op.idemKey)?.ids.add(op.answer.id);
  }

  /** Creates the SKUs, the lined one too (retrying until each is acknowledged). */
  async setUp() {
    for (const sku of SKUS) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const op = await this.send(-1, 'admin-set', 'PUT', `/v1/admin/skus/${sku}`, { ...stockOf(sku, INITIAL_TOTAL), perUserLimit: LIMITS[sku], startsAt: null, endsAt: null }, { admin: true });
        if (op.status === 200 || op.status === 201) break;
        await sleep(250);
      }
    }
    await this.line.setUp();
  }

  /** Closes the gRPC channels. */
  close() {
    this.grpc.close();
  }

  /** Once the faults stopped: the lined SKU has its line again, should a loss of Redis data have taken it. */
  async afterFaults() {
    await this.line.restore();
  }

  /**
   * Event-stream clients: each opens GET /v1/events on a raw socket, reads for 0 to 300 ms (0:
   * before the engine has set the stream up) and resets the connection, until `until`.
   */
  private async streamClient(random: Random, until: number, maxStreams = 2000) {
    for (let n = 0; n < maxStreams && Date.now() < until; n++) {
      const engine = random.pick(this.engines);
      const { hostname, port } = new URL(engine.url);
      const skus = [...new Set([random.pick(SKUS), random.pick(SKUS)])].join(',');
      const readMs = random.chance(0.3) ? 0 : random.int(1, 300);
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(port), hostname, () => {
          socket.write(`GET /v1/events?skus=${skus} HTTP/1.1\r\nhost: chaos\r\naccept: text/event-stream\r\n\r\n`, () => {
            setTimeout(() => socket.resetAndDestroy(), readMs);
          });
        });
        socket.on('data', () => {});
        socket.on('error', () => {});
        // An engine being killed or restarted may leave the connect hanging.
        socket.setTimeout(2000, () => socket.destroy());
        socket.on('close', () => resolve());
      });
      this.history.streamResets++;
      await sleep(random.int(20, 200));
    }
  }

  /** Runs `clients` concurrent clients, the lined SKU's clients and two event-stream clients until `until` (ms epoch), each bounded in count too. */
  async run(clients: number, until: number, maxOpsPerClient = 20_000) {
    await Promise.all([
      this.line.run(until, maxOpsPerClient),
      ...Array.from({ length: clients }, async (_, client) => {
        const random = this.random.fork();
        for (let i = 0; i < maxOpsPerClient && Date.now() < until; i++) {
          await this.step(client, random);
          await sleep(random.int(0, 25));
        }
      }),
      ...Array.from({ length: 2 }, () => this.streamClient(this.random.fork(), until)),
    ]);
  }
}

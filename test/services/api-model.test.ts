/**
 * Model-based test: random sequences of PUT, PATCH, adjust, reserve, commit, release, extend,
 * expiry and reconcile against a running engine (real Redis, one server and the cluster; real
 * Postgres), held after every step against a plain in-memory model of docs/api.md: the SKU view,
 * availability, each reservation's state and the per-user limit. A quarter of the sequences run on
 * a SKU with two stock locations (docs/api.md#stock-locations-warehouses): PUTs that retire and
 * bring back a location, adjusts and reserves naming one, lines spread in priority order, and
 * every location's counters held against the model too. Half run on a lined SKU
 * (docs/api.md#waiting-lines) with few units: joins, ticket reads and leaves, admitted holds
 * committed, released or let run out, PUTs that remove the line and set it again; the model keeps
 * the line (order, units wanted, statuses) and predicts every admission, so each ticket (status,
 * position, unitsAhead, unitsLeft, its hold) and the view's line are held against it. Some reserves
 * and joins are asked three times with pauses between, so refusals the engine answers from what
 * it knows of a sold-out SKU are held against the model too. Some run on a SKU split into three
 * buckets (docs/api.md#hot-skus-buckets), over four partitions: the model is a plain SKU's, every
 * answer the same, whichever bucket each reserve went to, but for rules of its own: once any of
 * it is held or sold, a PUT may not give it a per-user limit; half the lined SKUs are split
 * too (their line runs in the first bucket), keep their line, and take no per-user limit; and half
 * the located SKUs are split too, where a line naming no location takes the first location that
 * holds it whole in the bucket it runs in: the model then takes the allocation the engine answers,
 * once it checked it against the units each location had.
 *
 * The view and every reservation are also read over gRPC (GetStock, GetReservation), which must
 * answer what HTTP does; about half the reserves, commits, releases and extends are sent over gRPC
 * (tools/grpcAsHttp.ts), held to the same expectations.
 *
 * Seeded; a failure prints the seed and the shrunk command list. Replay with
 * MODEL_SEED=<seed> npx vitest run test/services/api-model.test.ts (MODEL_RUNS sets the number of
 * sequences).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InventoryClientApi, createInventoryClient } from '../../src/grpc/client';
import { type GrpcServer, startGrpcServer } from '../../src/grpc/server';
import { callOverGrpc } from '../../tools/grpcAsHttp';
import { SOLD_OUT_WATCH_MS } from '../../src/redis/soldOutReads';
import { REDIS_TARGETS, type TestContext, adminHeaders, createTestContext, uniqueName } from '../support/context';

const seed = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : Math.floor(Math.random() * 2 ** 31);
const numRuns = Number(process.env.MODEL_RUNS ?? 12);
const USERS = ['u1', 'u2', 'u3'];

type Status = 'PENDING' | 'COMMITTED' | 'RELEASED' | 'EXPIRED';
type TicketStatus = 'WAITING' | 'ADMITTED' | 'SOLD_OUT' | 'LEFT' | 'CLOSED';
/** Who joins lines: a user has one ticket per line. */
const LINE_USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'];
/** Admitted holds last an hour: they end only when a step ends them (ExpireHold lets one run out). */
const LINE = { holdTtlSeconds: 3600 };
/** The kinds of sequence: a plain SKU, one with two stock locations, a lined one, one split into buckets. */
type Mode = 'plain' | 'located' | 'lined' | 'split';
/** A split SKU's buckets (docs/api.md#hot-skus-buckets): to a client it is a plain SKU. */
const SPLIT = { buckets: 3 };

const LOCATIONS = ['a', 'b'];

/** One location of a located SKU: its total, and whether it takes holds (else retired). */
interface ModelLocation {
  location: string;
  total: number;
  active: boolean;
}

/** The SKU and reservations of docs/api.md#reservations, as plain numbers: what every answer must agree with. */
interface Model {
  sku: string;
  total: number;
  perUserLimit: number | null;
  /** Null for a SKU with a plain total; else its locations, active ones in priority order first. */
  locations: ModelLocation[] | null;
  reservations: { id: string; userId: string; qty: number; status: Status; allocations: Map<string, number> }[];
  mode: Mode;
  /** Split into buckets: every 'split' sequence, and half the lined ones (their line runs in the first bucket). */
  split: boolean;
  /** Lined sequences only: whether the SKU has its line now, its tickets in line order, and whose ticket each user holds. */
  line: boolean;
  tickets: { id: string; userId: string; qty: number; status: TicketStatus }[];
  lineUsers: Map<string, string>;
}

const unitsIn = (model: Model, status: Status, location?: string) =>
  model.reservations.filter((r) => r.status === status).reduce((sum, r) => sum + (location === undefined ? r.qty : (r.allocations.get(location) ?? 0)), 0);
const activeLocations = (model: Model) => (model.locations ?? []).filter((level) => level.active);
const levelOf = (model: Model, level: ModelLocation) => {
  const reserved = unitsIn(model, 'PENDING', level.location);
  const sold = unitsIn(model, 'COMMITTED', level.location);
  return { location: level.location, active: level.active, total: level.total, available: level.active ? level.total - reserved - sold : 0, reserved, sold };
};
const viewOf = (model: Model) => {
  const reserved = unitsIn(model, 'PENDING');
  const sold = unitsIn(model, 'COMMITTED');
  const total = model.locations ? model.locations.reduce((sum, level) => sum + level.total, 0) : model.total;
  const available = model.locations ? model.locations.reduce((sum, level) => sum + levelOf(model, level).available, 0) : total - reserved - sold;
  return { sku: model.sku, total, available, reserved, sold, perUserLimit: model.perUserLimit };
};
/** A retired location keeps only what is held and sold there, and leaves the SKU once both are 0. */
function settleRetired(model: Model): void {
  if (!model.locations) return;
  for (const level of model.locations.filter((l) => !l.active)) level.total = unitsIn(model, 'PENDING', level.location) + unitsIn(model, 'COMMITTED', level.location);
  model.locations = model.locations.filter((level) => level.active || level.total > 0);
}
/** Where a line of `qty` with no location is held: the first active location that holds it whole, else spread in priority order. */
function allocate(model: Model, qty: number): Map<string, number> {
  const free = activeLocations(model).map((level) => ({ location: level.location, available: levelOf(model, level).available }));
  const whole = free.find((level) => level.available >= qty);
  if (whole) return new Map([[whole.location, qty]]);
  const allocations = new Map<string, number>();
  let left = qty;
  for (const level of free) {
    const take = Math.min(left, level.available);
    if (take > 0) allocations.set(level.location, take);
    left -= take;
  }
  return allocations;
}
/**
 * Admission (docs/api.md, waiting lines), run wherever units may have come or gone: while the
 * head ticket can be served it is admitted (a hold of its units whose id is the ticket's), one
 * wanting more units than remain unsold ends SOLD_OUT, and the line stops at a head that must
 * wait, whatever the tickets behind it want; then every waiting ticket wanting more than remain
 * unsold ends SOLD_OUT.
 */
function serveLine(model: Model): void {
  if (!model.line) return;
  const { available, total, sold } = viewOf(model);
  const unsold = total - sold;
  let free = available;
  for (const head of model.tickets.filter((t) => t.status === 'WAITING')) {
    if (head.qty > unsold) head.status = 'SOLD_OUT';
    else if (head.qty <= free) {
      head.status = 'ADMITTED';
      free -= head.qty;
      model.reservations.push({ id: head.id, userId: head.userId, qty: head.qty, status: 'PENDING', allocations: new Map() });
    } else break;
  }
  for (const t of model.tickets) if (t.status === 'WAITING' && t.qty > unsold) t.status = 'SOLD_OUT';
}
/** A ticket as GET /v1/line-tickets/:id answers it: where it stands among the waiting tickets ahead, and its hold once admitted. */
function ticketViewOf(model: Model, ticket: Model['tickets'][number]) {
  const ahead = model.tickets.slice(0, model.tickets.indexOf(ticket)).filter((t) => t.status === 'WAITING');
  const waiting = ticket.status === 'WAITING';
  const hold = model.reservations.find((r) => r.id === ticket.id);
  const { total, sold } = viewOf(model);
  return {
    id: ticket.id,
    userId: ticket.userId,
    qty: ticket.qty,
    status: ticket.status,
    position: waiting ? ahead.length + 1 : null,
    unitsAhead: waiting ? ahead.reduce((sum, t) => sum + t.qty, 0) : null,
    unitsLeft: total - sold,
    reservation: ticket.status === 'ADMITTED' ? { id: ticket.id, status: hold!.status, userId: ticket.userId } : null,
  };
}
const lineViewOf = (model: Model) =>
  model.line
    ? { waiting: model.tickets.filter((t) => t.status === 'WAITING').length, admitted: model.tickets.filter((t) => t.status === 'ADMITTED').length, ...LINE, lobbySeconds: 0 }
    : null;
/** Units a user holds (pending) plus those they bought: what the per-user limit counts. */
const userUnits = (model: Model, userId: string) =>
  model.reservations.filter((r) => r.userId === userId && (r.status === 'PENDING' || r.status === 'COMMITTED')).reduce((sum, r) => sum + r.qty, 0);

interface Real {
  ctx: TestContext;
  /** The same engine over gRPC: its reads must answer what HTTP's do. */
  grpc: InventoryClientApi;
}

type Answer = { statusCode: number; json(): any };
const call = (real: Real, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object): Promise<Answer> =>
  real.ctx.app.inject({ method, url, headers: adminHeaders, ...(payload ? { payload } : {}) });

/** A client's reservation call over HTTP, or over gRPC read as the HTTP answer (tools/grpcAsHttp.ts): the model expects the same of both. */
async function clientCall(real: Real, viaGrpc: boolean, url: string, payload?: object): Promise<Answer> {
  if (!viaGrpc) return call(real, 'POST', url, payload);
  const { status, body } = await callOverGrpc(real.grpc, 'POST', url, payload, { timeoutMs: 10_000 });
  return { statusCode: status, json: () => body };
}

/** After every command: the view (every location's too), availability and every reservation read as the model says. */
async function expectAgreement(model: Model, real: Real): Promise<void> {
  // The view first: a ticket read serves the line, which must already stand as the model says.
  const view = (await call(real, 'GET', `/v1/skus/${model.sku}`)).json();
  expect(view).toMatchObject(viewOf(model));
  // gRPC leaves unset what JSON reads null.
  const { perUserLimit, ...counters } = viewOf(model);
  const expectedOverGrpc = perUserLimit === null ? counters : { ...counters, perUserLimit };
  expect((await real.grpc.getStock({ sku: model.sku })).stock, 'the view over gRPC').toMatchObject(expectedOverGrpc);
  expect(view.line, 'the view\'s line').toEqual(lineViewOf(model));
  if (model.locations) expect(view.locations).toEqual(model.locations.map((level) => levelOf(model, level)));
  const { available } = viewOf(model);
  const check = (await call(real, 'POST', '/v1/availability', { items: [{ sku: model.sku, qty: available + 1 }] })).json();
  expect(check.items[0]).toMatchObject({ available, ok: false });
  for (const r of model.reservations) {
    const read = (await call(real, 'GET', `/v1/reservations/${r.id}`)).json();
    expect(read, `reservation ${r.id}`).toMatchObject({ id: r.id, status: r.status, userId: r.userId });
    const overGrpc = (await real.grpc.getReservation({ reservationId: r.id })).reservation;
    expect(overGrpc, `reservation ${r.id} over gRPC`).toMatchObject({ id: r.id, status: r.status, userId: r.userId, items: read.items });
  }
  for (const ticket of model.tickets) {
    const read = (await call(real, 'GET', `/v1/line-tickets/${ticket.id}`)).json();
    expect(read, `ticket ${ticket.id}`).toMatchObject(ticketViewOf(model, ticket));
  }
}

/** A hold of one second runs out: the step waits past its expiry, and a reconciler pass sweeps it. */
async function letRunOut(real: Real, reservation: Model['reservations'][number]): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1100));
  expect((await real.ctx.reconciler.run('api')).error).toBeUndefined();
  reservation.status = 'EXPIRED';
}

/** One step: `expected` is what docs/api.md#routes says it answers, given the model; `apply` changes the model after it. */
abstract class Step implements fc.AsyncCommand<Model, Real> {
  /** Whether the step applies to the model as it stands (by default: to any SKU). */
  check(model: Readonly<Model>): boolean {
    return model.sku !== '';
  }
  abstract run(model: Model, real: Real): Promise<void>;
  abstract toString(): string;
}

class Put extends Step {
  constructor(
    readonly total: number,
    readonly limit: number | null,
    /** On a located SKU: b's total, or null to leave b out (retire it); a takes `total`. */
    readonly bTotal: number | null,
    /** On a lined SKU: whether the PUT names the line (else it removes it: its waiting tickets end CLOSED). */
    readonly lineOn: boolean,
  ) {
    super();
  }
  async run(model: Model, real: Real) {
    const stock = model.locations
      ? { locations: [{ location: 'a', total: this.total }, ...(this.bTotal === null ? [] : [{ location: 'b', total: this.bTotal }])] }
      : { total: this.total };
    // A split SKU keeps its line: without it, reserves would spread over the buckets, and a line
    // set again is refused while any bucket but the first holds units, which the model does not place.
    const lineOn = this.lineOn || model.split;
    const line = model.mode === 'lined' ? { line: lineOn ? LINE : null } : {};
    const split = model.split ? SPLIT : {};
    const answer = await call(real, 'PUT', `/v1/admin/skus/${model.sku}`, { ...stock, perUserLimit: this.limit, ...line, ...split });
    const committed = (location?: string) => unitsIn(model, 'PENDING', location) + unitsIn(model, 'COMMITTED', location);
    const below = model.locations
      ? this.total < committed('a') || (this.bTotal !== null && this.bTotal < committed('b'))
      : this.total < committed();
    // Without a limit a split SKU's reserves spread over its buckets: once any is held or sold, no limit comes.
    const limitRefused =
      (model.split && model.mode !== 'lined' && this.limit !== null && model.perUserLimit === null && committed() > 0) ||
      // A split SKU takes a line or a limit, not both.
      (model.mode === 'lined' && model.split && this.limit !== null);
    if (limitRefused) {
      expect(answer.statusCode).toBe(400);
      expect(answer.json().error.code).toBe('VALIDATION_FAILED');
    } else if (below) {
      expect(answer.statusCode).toBe(409);
      expect(answer.json().error.code).toBe('TOTAL_BELOW_COMMITTED');
    } else {
      expect(answer.statusCode).toBe(200);
      // PUT replaces: the limit is what it names, null when left out.
      model.perUserLimit = this.limit;
      if (model.locations) {
        const named = [{ location: 'a', total: this.total, active: true }, ...(this.bTotal === null ? [] : [{ location: 'b', total: this.bTotal, active: true }])];
        const retired = model.locations.filter((level) => !named.some((n) => n.location === level.location)).map((level) => ({ ...level, active: false }));
        model.locations = [...named, ...retired];
        settleRetired(model);
      } else model.total = this.total;
      if (model.mode === 'lined') setLine(model, lineOn);
    }
    await expectAgreement(model, real);
  }
  toString() {
    return `PUT total=${this.total} limit=${this.limit} (b=${this.bTotal} when located, line ${this.lineOn ? 'on' : 'off'} when lined)`;
  }
}

class PatchTotal extends Step {
  constructor(readonly total: number) {
    super();
  }
  /** A plain total is refused on a SKU with named locations (docs/api.md, PATCH). */
  check(model: Readonly<Model>) {
    return model.locations === null;
  }
  async run(model: Model, real: Real) {
    const answer = await call(real, 'PATCH', `/v1/admin/skus/${model.sku}`, { total: this.total });
    if (this.total < unitsIn(model, 'PENDING') + unitsIn(model, 'COMMITTED')) {
      expect(answer.json().error.code).toBe('TOTAL_BELOW_COMMITTED');
    } else {
      // PATCH keeps the limit and the line.
      expect(answer.statusCode).toBe(200);
      model.total = this.total;
      serveLine(model);
    }
    await expectAgreement(model, real);
  }
  toString() {
    return `PATCH total=${this.total}`;
  }
}

class Adjust extends Step {
  constructor(
    readonly delta: number,
    /** On a located SKU, the location it names (a retired one is refused). */
    readonly location: string,
  ) {
    super();
  }
  async run(model: Model, real: Real) {
    const at = model.locations ? { location: this.location } : {};
    const answer = await call(real, 'POST', `/v1/admin/skus/${model.sku}/adjust`, { delta: this.delta, reason: 'model', ...at });
    const level = model.locations?.find((l) => l.location === this.location);
    if (model.locations && !level?.active) {
      expect(answer.json().error.code).toBe('LOCATION_NOT_FOUND');
    } else if ((level ? levelOf(model, level).available : viewOf(model).available) + this.delta < 0) {
      expect(answer.json().error.code).toBe('INSUFFICIENT_STOCK');
    } else {
      expect(answer.statusCode).toBe(200);
      if (level) level.total += this.delta;
      else model.total += this.delta;
      serveLine(model);
    }
    await expectAgreement(model, real);
  }
  toString() {
    return `adjust ${this.delta}${this.location ? ` @${this.location}` : ''}`;
  }
}

class Reserve extends Step {
  constructor(
    readonly userId: string,
    readonly qty: number,
    /** A hold of one second, let run out before the next step (then swept by a reconciler pass). */
    readonly expires: boolean,
    /** On a located SKU, the location the line names, or null for none. */
    readonly location: string | null,
    /** Sent as ReserveStock over gRPC rather than over HTTP. */
    readonly viaGrpc: boolean,
  ) {
    super();
  }
  async run(model: Model, real: Real) {
    const at = model.locations && this.location ? { location: this.location } : {};
    const answer = await clientCall(real, this.viaGrpc, '/v1/reservations', { userId: this.userId, items: [{ sku: model.sku, qty: this.qty, ...at }], ...(this.expires ? { ttlSeconds: 1 } : {}) });
    const limit = model.perUserLimit;
    const named = 'location' in at ? model.locations!.find((level) => level.location === at.location && level.active) : undefined;
    const available = 'location' in at ? (named ? levelOf(model, named).available : 0) : viewOf(model).available;
    if (model.line) {
      // Nobody jumps the line.
      expect(answer.json().error).toMatchObject({ code: 'LINE_REQUIRED', details: { sku: model.sku } });
    } else if (limit !== null && userUnits(model, this.userId) + this.qty > limit) {
      expect(answer.json().error.code).toBe('PURCHASE_LIMIT_EXCEEDED');
    } else if ('location' in at && !named) {
      expect(answer.json().error.code).toBe('LOCATION_NOT_FOUND');
    } else if (this.qty > available) {
      expect(answer.json().error).toMatchObject({ code: 'INSUFFICIENT_STOCK', details: { items: [{ sku: model.sku, requested: this.qty, available }] } });
    } else {
      expect(answer.statusCode, JSON.stringify(answer.json())).toBe(201);
      const held = new Map((answer.json().items[0].allocations as { location: string; reserved: number }[]).map(({ location, reserved }) => [location, reserved]));
      // A split SKU takes the first location that holds the line whole in the bucket it runs in: held where units were.
      const placed = model.split && model.locations && !named;
      const allocations = !model.locations ? new Map() : named ? new Map([[named.location, this.qty]]) : placed ? held : allocate(model, this.qty);
      if (placed) {
        expect([...held.values()].reduce((sum, units) => sum + units, 0)).toBe(this.qty);
        for (const [location, units] of held) expect(units).toBeLessThanOrEqual(levelOf(model, activeLocations(model).find((level) => level.location === location)!).available);
      } else if (model.locations) expect([...held]).toEqual([...allocations]);
      const reservation = { id: answer.json().id as string, userId: this.userId, qty: this.qty, status: 'PENDING' as Status, allocations };
      model.reservations.push(reservation);
      if (this.expires) {
        await letRunOut(real, reservation);
        settleRetired(model);
      }
    }
    await expectAgreement(model, real);
  }
  toString() {
    return `reserve ${this.userId} ${this.qty}${this.location ? ` @${this.location}` : ''}${this.expires ? ' (expires)' : ''}${this.viaGrpc ? ' over gRPC' : ''}`;
  }
}

/** Commit, release or extend of the n-th reservation made so far (modulo their count). */
class Finish extends Step {
  constructor(
    readonly action: 'commit' | 'release' | 'extend',
    readonly pick: number,
    /** Sent over gRPC rather than over HTTP. */
    readonly viaGrpc: boolean,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return model.reservations.length > 0;
  }
  async run(model: Model, real: Real) {
    const r = model.reservations[this.pick % model.reservations.length];
    const answer = await clientCall(real, this.viaGrpc, `/v1/reservations/${r.id}/${this.action}`, this.action === 'extend' ? { ttlSeconds: 600 } : undefined);
    const refusal = { COMMITTED: 'RESERVATION_COMMITTED', RELEASED: 'RESERVATION_RELEASED', EXPIRED: 'RESERVATION_EXPIRED' } as const;
    if (this.action === 'commit') {
      if (r.status === 'PENDING' || r.status === 'COMMITTED') {
        expect(answer.json().status).toBe('COMMITTED');
        r.status = 'COMMITTED';
      } else expect(answer.json().error.code).toBe(refusal[r.status]);
    } else if (this.action === 'release') {
      if (r.status === 'COMMITTED') expect(answer.json().error.code).toBe('RESERVATION_COMMITTED');
      else {
        // Already expired: 200 EXPIRED; pending or released: 200 RELEASED.
        const status = r.status === 'EXPIRED' ? 'EXPIRED' : 'RELEASED';
        expect(answer.json().status).toBe(status);
        r.status = status;
        settleRetired(model);
      }
    } else if (r.status === 'PENDING') {
      expect(answer.statusCode).toBe(200);
    } else {
      expect(answer.json().error.code).toBe(refusal[r.status]);
    }
    // Units sold or given back: the line's head may be served, or end SOLD_OUT.
    serveLine(model);
    await expectAgreement(model, real);
  }
  toString() {
    return `${this.action} #${this.pick}${this.viaGrpc ? ' over gRPC' : ''}`;
  }
}

/** PUT's line: set (again) and served, or removed: its waiting tickets end CLOSED and it forgets who held its tickets. */
function setLine(model: Model, on: boolean): void {
  if (!on && model.line) {
    for (const t of model.tickets) if (t.status === 'WAITING') t.status = 'CLOSED';
    model.lineUsers.clear();
  }
  model.line = on;
  serveLine(model);
}

/** Steps of lined sequences only. */
abstract class LineStep extends Step {
  check(model: Readonly<Model>) {
    return model.mode === 'lined';
  }
}

class Join extends LineStep {
  constructor(
    readonly userId: string,
    readonly qty: number,
  ) {
    super();
  }
  async run(model: Model, real: Real) {
    const answer = await call(real, 'POST', `/v1/skus/${model.sku}/line`, { userId: this.userId, qty: this.qty });
    const existing = model.tickets.find((t) => t.id === model.lineUsers.get(this.userId));
    const { total, sold } = viewOf(model);
    if (!model.line) {
      expect([answer.statusCode, answer.json().error?.code]).toEqual([404, 'LINE_NOT_FOUND']);
    } else if (existing) {
      // One ticket per user: joining again answers it as it stands.
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject(ticketViewOf(model, existing));
    } else if (this.qty > total - sold) {
      expect(answer.json().error).toMatchObject({ code: 'SOLD_OUT', details: { unitsLeft: total - sold } });
    } else if (model.perUserLimit !== null && userUnits(model, this.userId) + this.qty > model.perUserLimit) {
      expect(answer.json().error.code).toBe('PURCHASE_LIMIT_EXCEEDED');
    } else {
      expect(answer.statusCode, JSON.stringify(answer.json())).toBe(202);
      const ticket = { id: answer.json().id as string, userId: this.userId, qty: this.qty, status: 'WAITING' as TicketStatus };
      model.tickets.push(ticket);
      model.lineUsers.set(this.userId, ticket.id);
      // Joined at the back, and admitted at once when it is the head and the units are there.
      serveLine(model);
      expect(answer.json()).toMatchObject(ticketViewOf(model, ticket));
    }
    await expectAgreement(model, real);
  }
  toString() {
    return `join ${this.userId} ${this.qty}`;
  }
}

/** Reads or leaves the n-th ticket joined so far, or of those waiting (modulo their count; all of them when none waits). */
class TicketCall extends LineStep {
  constructor(
    readonly action: 'read' | 'leave',
    readonly pick: number,
    readonly ofWaiting: boolean,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return super.check(model) && model.tickets.length > 0;
  }
  async run(model: Model, real: Real) {
    const waiting = model.tickets.filter((t) => t.status === 'WAITING');
    const from = this.ofWaiting && waiting.length ? waiting : model.tickets;
    const ticket = from[this.pick % from.length];
    const answer = await call(real, this.action === 'read' ? 'GET' : 'DELETE', `/v1/line-tickets/${ticket.id}`);
    expect(answer.statusCode).toBe(200);
    if (this.action === 'leave' && ticket.status === 'WAITING') {
      // It leaves; those behind it move up, and a head that can now be served is admitted.
      ticket.status = 'LEFT';
      serveLine(model);
    }
    expect(answer.json()).toMatchObject(ticketViewOf(model, ticket));
    await expectAgreement(model, real);
  }
  toString() {
    return `${this.action} ticket #${this.pick}${this.ofWaiting ? ' of those waiting' : ''}`;
  }
}

/** The n-th pending hold (an admitted ticket's, or one made while the line was off) runs out: extended to 1 s, then swept. */
class ExpireHold extends LineStep {
  constructor(readonly pick: number) {
    super();
  }
  check(model: Readonly<Model>) {
    return super.check(model) && model.reservations.some((r) => r.status === 'PENDING');
  }
  async run(model: Model, real: Real) {
    const pending = model.reservations.filter((r) => r.status === 'PENDING');
    const r = pending[this.pick % pending.length];
    expect((await call(real, 'POST', `/v1/reservations/${r.id}/extend`, { ttlSeconds: 1 })).statusCode).toBe(200);
    await letRunOut(real, r);
    // Its units go to the head of the line in the same step.
    serveLine(model);
    await expectAgreement(model, real);
  }
  toString() {
    return `expire pending hold #${this.pick}`;
  }
}

class Reconcile extends Step {
  async run(model: Model, real: Real) {
    const report = await real.ctx.reconciler.run('api');
    expect(report.error).toBeUndefined();
    expect(report.drift).toEqual([]);
    await expectAgreement(model, real);
  }
  toString() {
    return 'reconcile';
  }
}

/**
 * A step asked three times, with pauses long enough for the engine's sold-out watch to read what it
 * watches (every 25 ms): a reserve refused for stock (a join refused SOLD_OUT) asked again is then
 * answered from what the engine knows, without Redis, and held against the model like any other.
 */
class Repeated extends Step {
  constructor(readonly step: Step) {
    super();
  }
  check(model: Readonly<Model>) {
    return this.step.check(model);
  }
  async run(model: Model, real: Real) {
    for (let n = 0; n < 3; n++) {
      if (n > 0) await new Promise((resolve) => setTimeout(resolve, 3 * SOLD_OUT_WATCH_MS));
      await this.step.run(model, real);
    }
  }
  toString() {
    return `${this.step} (3 times, paused between)`;
  }
}

const reserves = fc
  .tuple(fc.constantFrom(...USERS), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.option(fc.constantFrom(...LOCATIONS), { nil: null }), fc.boolean())
  .map(([userId, qty, expires, location, viaGrpc]) => new Reserve(userId, qty, expires && qty === 1, location, viaGrpc));

const puts = (lineOn: fc.Arbitrary<boolean>) =>
  fc
    .tuple(fc.integer({ min: 0, max: 12 }), fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }), fc.option(fc.integer({ min: 0, max: 8 }), { nil: null }), lineOn)
    .map(([total, limit, bTotal, on]) => new Put(total, limit, bTotal, on));
const patches = fc.integer({ min: 0, max: 12 }).map((total) => new PatchTotal(total));
const adjusts = fc
  .tuple(fc.integer({ min: -4, max: 4 }).filter((delta) => delta !== 0), fc.constantFrom(...LOCATIONS))
  .map(([delta, location]) => new Adjust(delta, location));
const finishes = fc
  .tuple(fc.constantFrom('commit' as const, 'release' as const, 'extend' as const), fc.nat(), fc.boolean())
  .map(([action, pick, viaGrpc]) => new Finish(action, pick, viaGrpc));
const reconciles = fc.constant(new Reconcile());

/** Reserves are listed three times (twice repeated): sequences then hold (and end) more of what the model counts. */
const repeated = <T extends Step>(steps: fc.Arbitrary<T>) => steps.map((step) => new Repeated(step));
const steps = [puts(fc.constant(true)), patches, adjusts, reserves, repeated(reserves), repeated(reserves), finishes, reconciles];

const joins = fc.tuple(fc.constantFrom(...LINE_USERS), fc.integer({ min: 1, max: 3 })).map(([userId, qty]) => new Join(userId, qty));
const ticketCalls = fc
  .tuple(fc.constantFrom('read' as const, 'leave' as const), fc.nat(), fc.boolean())
  .map(([action, pick, ofWaiting]) => new TicketCall(action, pick, ofWaiting));

/**
 * A lined SKU's sequences: a hot SKU, where shoppers outnumber units. Joins are listed four times,
 * ticket calls and finishes twice, the admin's PUT, PATCH and adjust once together (a PUT in four
 * removes the line); holds run out; reserves are refused while the line is on.
 */
const linedSteps = [
  fc.oneof(puts(fc.constantFrom(true, true, true, false)), patches, adjusts),
  joins,
  joins,
  joins,
  repeated(joins),
  ticketCalls,
  ticketCalls,
  finishes,
  finishes,
  fc.nat().map((pick) => new ExpireHold(pick)),
  reserves,
  reconciles,
];

describe.each(REDIS_TARGETS)('the engine against a model of docs/api.md, on %s Redis', (redis) => {
  let ctx: TestContext;
  let server: GrpcServer;
  let grpc: InventoryClientApi;
  beforeAll(async () => {
    ctx = await createTestContext({ redis, env: { REDIS_PARTITIONS: '4' } });
    server = await startGrpcServer({ config: ctx.config, ...ctx.app.runtime, metrics: ctx.metrics }, { host: '127.0.0.1', port: 0, log: ctx.app.log });
    grpc = createInventoryClient(`127.0.0.1:${server.port}`);
  });
  afterAll(async () => {
    grpc.close();
    await server.close();
    await ctx.close();
  });

  it(`random sequences of admin and client steps agree with the model after every step (seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom<Mode>('plain', 'located', 'lined', 'lined', 'split')
          .chain((mode) =>
            fc.tuple(
              fc.constant(mode),
              mode === 'lined' || mode === 'located' ? fc.boolean() : fc.constant(mode === 'split'),
              mode === 'lined' ? fc.commands(linedSteps, { maxCommands: 24, size: 'max' }) : fc.commands(steps, { maxCommands: 14 }),
            ),
          ),
        async ([mode, split, commands]) => {
          const sku = uniqueName('model-');
          const locations = mode === 'located' ? [{ location: 'a', total: 3, active: true }, { location: 'b', total: 3, active: true }] : null;
          // A lined SKU starts with few units: its line forms at once.
          const total = mode === 'lined' ? 4 : 6;
          const stock = locations ? { locations: locations.map(({ location, total }) => ({ location, total })) } : { total };
          const created = await call({ ctx, grpc }, 'PUT', `/v1/admin/skus/${sku}`, { ...stock, ...(mode === 'lined' ? { line: LINE } : {}), ...(split ? SPLIT : {}) });
          expect(created.statusCode).toBe(201);
          const model: Model = { sku, total, perUserLimit: null, locations, reservations: [], mode, split, line: mode === 'lined', tickets: [], lineUsers: new Map() };
          await fc.asyncModelRun(() => ({ model, real: { ctx, grpc } }), commands);
        },
      ),
      { seed, numRuns },
    );
  }, 240_000);
});

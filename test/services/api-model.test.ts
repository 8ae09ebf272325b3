/**
 * Model-based test: random sequences of PUT, PATCH, adjust, reserve, commit, release, extend,
 * expiry and reconcile against a running engine (real Redis, one server and the cluster; real
 * Postgres), held after every step against a plain in-memory model of docs/api.md: the SKU view,
 * availability, each reservation's state and the per-user limit. Half the sequences run on a SKU
 * with two stock locations (docs/api.md#stock-locations-warehouses): PUTs that retire and bring
 * back a location, adjusts and reserves naming one, lines spread in priority order, and every
 * location's counters held against the model too.
 *
 * Seeded; a failure prints the seed and the shrunk command list. Replay with
 * MODEL_SEED=<seed> npx vitest run test/services/api-model.test.ts (MODEL_RUNS sets the number of
 * sequences).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_TARGETS, type TestContext, adminHeaders, createTestContext, uniqueName } from '../support/context';

const seed = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : Math.floor(Math.random() * 2 ** 31);
const numRuns = Number(process.env.MODEL_RUNS ?? 12);
const USERS = ['u1', 'u2', 'u3'];

type Status = 'PENDING' | 'COMMITTED' | 'RELEASED' | 'EXPIRED';

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
/** Units a user holds (pending) plus those they bought: what the per-user limit counts. */
const userUnits = (model: Model, userId: string) =>
  model.reservations.filter((r) => r.userId === userId && (r.status === 'PENDING' || r.status === 'COMMITTED')).reduce((sum, r) => sum + r.qty, 0);

interface Real {
  ctx: TestContext;
}

type Answer = { statusCode: number; json(): any };
const call = (real: Real, method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: object): Promise<Answer> =>
  real.ctx.app.inject({ method, url, headers: adminHeaders, ...(payload ? { payload } : {}) });

/** After every command: the view (every location's too), availability and every reservation read as the model says. */
async function expectAgreement(model: Model, real: Real): Promise<void> {
  const view = (await call(real, 'GET', `/v1/skus/${model.sku}`)).json();
  expect(view).toMatchObject(viewOf(model));
  if (model.locations) expect(view.locations).toEqual(model.locations.map((level) => levelOf(model, level)));
  const { available } = viewOf(model);
  const check = (await call(real, 'POST', '/v1/availability', { items: [{ sku: model.sku, qty: available + 1 }] })).json();
  expect(check.items[0]).toMatchObject({ available, ok: false });
  for (const r of model.reservations) {
    const read = (await call(real, 'GET', `/v1/reservations/${r.id}`)).json();
    expect(read, `reservation ${r.id}`).toMatchObject({ id: r.id, status: r.status, userId: r.userId });
  }
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
  ) {
    super();
  }
  async run(model: Model, real: Real) {
    const stock = model.locations
      ? { locations: [{ location: 'a', total: this.total }, ...(this.bTotal === null ? [] : [{ location: 'b', total: this.bTotal }])] }
      : { total: this.total };
    const answer = await call(real, 'PUT', `/v1/admin/skus/${model.sku}`, { ...stock, perUserLimit: this.limit });
    const committed = (location?: string) => unitsIn(model, 'PENDING', location) + unitsIn(model, 'COMMITTED', location);
    const below = model.locations
      ? this.total < committed('a') || (this.bTotal !== null && this.bTotal < committed('b'))
      : this.total < committed();
    if (below) {
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
    }
    await expectAgreement(model, real);
  }
  toString() {
    return `PUT total=${this.total} limit=${this.limit} (b=${this.bTotal} when located)`;
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
      // PATCH keeps the limit.
      expect(answer.statusCode).toBe(200);
      model.total = this.total;
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
  ) {
    super();
  }
  async run(model: Model, real: Real) {
    const at = model.locations && this.location ? { location: this.location } : {};
    const answer = await call(real, 'POST', '/v1/reservations', { userId: this.userId, items: [{ sku: model.sku, qty: this.qty, ...at }], ...(this.expires ? { ttlSeconds: 1 } : {}) });
    const limit = model.perUserLimit;
    const named = 'location' in at ? model.locations!.find((level) => level.location === at.location && level.active) : undefined;
    const available = 'location' in at ? (named ? levelOf(model, named).available : 0) : viewOf(model).available;
    if (limit !== null && userUnits(model, this.userId) + this.qty > limit) {
      expect(answer.json().error.code).toBe('PURCHASE_LIMIT_EXCEEDED');
    } else if ('location' in at && !named) {
      expect(answer.json().error.code).toBe('LOCATION_NOT_FOUND');
    } else if (this.qty > available) {
      expect(answer.json().error).toMatchObject({ code: 'INSUFFICIENT_STOCK', details: { items: [{ sku: model.sku, requested: this.qty, available }] } });
    } else {
      expect(answer.statusCode, JSON.stringify(answer.json())).toBe(201);
      const allocations = !model.locations ? new Map() : named ? new Map([[named.location, this.qty]]) : allocate(model, this.qty);
      if (model.locations) {
        const held = (answer.json().items[0].allocations as { location: string; reserved: number }[]).map(({ location, reserved }) => [location, reserved]);
        expect(held).toEqual([...allocations]);
      }
      const reservation = { id: answer.json().id as string, userId: this.userId, qty: this.qty, status: 'PENDING' as Status, allocations };
      model.reservations.push(reservation);
      if (this.expires) {
        await new Promise((resolve) => setTimeout(resolve, 1100));
        expect((await real.ctx.reconciler.run('api')).error).toBeUndefined();
        reservation.status = 'EXPIRED';
        settleRetired(model);
      }
    }
    await expectAgreement(model, real);
  }
  toString() {
    return `reserve ${this.userId} ${this.qty}${this.location ? ` @${this.location}` : ''}${this.expires ? ' (expires)' : ''}`;
  }
}

/** Commit, release or extend of the n-th reservation made so far (modulo their count). */
class Finish extends Step {
  constructor(
    readonly action: 'commit' | 'release' | 'extend',
    readonly pick: number,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return model.reservations.length > 0;
  }
  async run(model: Model, real: Real) {
    const r = model.reservations[this.pick % model.reservations.length];
    const answer = await call(real, 'POST', `/v1/reservations/${r.id}/${this.action}`, this.action === 'extend' ? { ttlSeconds: 600 } : undefined);
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
    await expectAgreement(model, real);
  }
  toString() {
    return `${this.action} #${this.pick}`;
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

const reserves = fc
  .tuple(fc.constantFrom(...USERS), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.option(fc.constantFrom(...LOCATIONS), { nil: null }))
  .map(([userId, qty, expires, location]) => new Reserve(userId, qty, expires && qty === 1, location));

/** Reserves are listed twice: sequences then hold (and end) more of what the model counts. */
const steps = [
  fc
    .tuple(fc.integer({ min: 0, max: 12 }), fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }), fc.option(fc.integer({ min: 0, max: 8 }), { nil: null }))
    .map(([total, limit, bTotal]) => new Put(total, limit, bTotal)),
  fc.integer({ min: 0, max: 12 }).map((total) => new PatchTotal(total)),
  fc
    .tuple(fc.integer({ min: -4, max: 4 }).filter((delta) => delta !== 0), fc.constantFrom(...LOCATIONS))
    .map(([delta, location]) => new Adjust(delta, location)),
  reserves,
  reserves,
  fc.tuple(fc.constantFrom('commit' as const, 'release' as const, 'extend' as const), fc.nat()).map(([action, pick]) => new Finish(action, pick)),
  fc.constant(new Reconcile()),
];

describe.each(REDIS_TARGETS)('the engine against a model of docs/api.md, on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  it(`random sequences of admin and client steps agree with the model after every step (seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.commands(steps, { maxCommands: 14 }), async (located, commands) => {
        const sku = uniqueName('model-');
        const locations = located ? [{ location: 'a', total: 3, active: true }, { location: 'b', total: 3, active: true }] : null;
        const stock = locations ? { locations: locations.map(({ location, total }) => ({ location, total })) } : { total: 6 };
        const created = await call({ ctx }, 'PUT', `/v1/admin/skus/${sku}`, stock);
        expect(created.statusCode).toBe(201);
        const model: Model = { sku, total: 6, perUserLimit: null, locations, reservations: [] };
        await fc.asyncModelRun(() => ({ model, real: { ctx } }), commands);
      }),
      { seed, numRuns },
    );
  }, 240_000);
});

/**
 * Model-based test: random sequences of PUT, PATCH, adjust, reserve, commit, release, extend,
 * expiry and reconcile against a running engine (real Redis, one server and the cluster; real
 * Postgres), held after every step against a plain in-memory model of docs/api.md: the SKU view,
 * availability, each reservation's state and the per-user limit.
 *
 * Seeded; a failure prints the seed and the shrunk command list. Replay with
 * MODEL_SEED=<seed> npx vitest run test/model.test.ts (MODEL_RUNS sets the number of sequences).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_TARGETS, type TestContext, adminHeaders, createTestContext, uniqueName } from './support/context';

const seed = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : Math.floor(Math.random() * 2 ** 31);
const numRuns = Number(process.env.MODEL_RUNS ?? 12);
const USERS = ['u1', 'u2', 'u3'];

type Status = 'PENDING' | 'COMMITTED' | 'RELEASED' | 'EXPIRED';

/** The SKU and reservations of docs/api.md#reservations, as plain numbers: what every answer must agree with. */
interface Model {
  sku: string;
  total: number;
  perUserLimit: number | null;
  reservations: { id: string; userId: string; qty: number; status: Status }[];
}

const unitsIn = (model: Model, status: Status) => model.reservations.filter((r) => r.status === status).reduce((sum, r) => sum + r.qty, 0);
const viewOf = (model: Model) => {
  const reserved = unitsIn(model, 'PENDING');
  const sold = unitsIn(model, 'COMMITTED');
  return { sku: model.sku, total: model.total, available: model.total - reserved - sold, reserved, sold, perUserLimit: model.perUserLimit };
};
/** Units a user holds (pending) plus those they bought: what the per-user limit counts. */
const userUnits = (model: Model, userId: string) =>
  model.reservations.filter((r) => r.userId === userId && (r.status === 'PENDING' || r.status === 'COMMITTED')).reduce((sum, r) => sum + r.qty, 0);

interface Real {
  ctx: TestContext;
}

type Answer = { statusCode: number; json(): any };
const call = (real: Real, method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: object): Promise<Answer> =>
  real.ctx.app.inject({ method, url, headers: adminHeaders, ...(payload ? { payload } : {}) });

/** After every command: the view, availability and every reservation read as the model says. */
async function expectAgreement(model: Model, real: Real): Promise<void> {
  const view = (await call(real, 'GET', `/v1/skus/${model.sku}`)).json();
  expect(view).toMatchObject(viewOf(model));
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
  ) {
    super();
  }
  async run(model: Model, real: Real) {
    const answer = await call(real, 'PUT', `/v1/admin/skus/${model.sku}`, { total: this.total, perUserLimit: this.limit });
    const committed = unitsIn(model, 'PENDING') + unitsIn(model, 'COMMITTED');
    if (this.total < committed) {
      expect(answer.statusCode).toBe(409);
      expect(answer.json().error.code).toBe('TOTAL_BELOW_COMMITTED');
    } else {
      expect(answer.statusCode).toBe(200);
      // PUT replaces: the limit is what it names, null when left out.
      model.total = this.total;
      model.perUserLimit = this.limit;
    }
    await expectAgreement(model, real);
  }
  toString() {
    return `PUT total=${this.total} limit=${this.limit}`;
  }
}

class PatchTotal extends Step {
  constructor(readonly total: number) {
    super();
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
  constructor(readonly delta: number) {
    super();
  }
  async run(model: Model, real: Real) {
    const answer = await call(real, 'POST', `/v1/admin/skus/${model.sku}/adjust`, { delta: this.delta, reason: 'model' });
    if (viewOf(model).available + this.delta < 0) {
      expect(answer.json().error.code).toBe('INSUFFICIENT_STOCK');
    } else {
      expect(answer.statusCode).toBe(200);
      model.total += this.delta;
    }
    await expectAgreement(model, real);
  }
  toString() {
    return `adjust ${this.delta}`;
  }
}

class Reserve extends Step {
  constructor(
    readonly userId: string,
    readonly qty: number,
    /** A hold of one second, let run out before the next step (then swept by a reconciler pass). */
    readonly expires: boolean,
  ) {
    super();
  }
  async run(model: Model, real: Real) {
    const answer = await call(real, 'POST', '/v1/reservations', { userId: this.userId, items: [{ sku: model.sku, qty: this.qty }], ...(this.expires ? { ttlSeconds: 1 } : {}) });
    const limit = model.perUserLimit;
    if (limit !== null && userUnits(model, this.userId) + this.qty > limit) {
      expect(answer.json().error.code).toBe('PURCHASE_LIMIT_EXCEEDED');
    } else if (this.qty > viewOf(model).available) {
      expect(answer.json().error).toMatchObject({ code: 'INSUFFICIENT_STOCK', details: { items: [{ sku: model.sku, requested: this.qty, available: viewOf(model).available }] } });
    } else {
      expect(answer.statusCode, JSON.stringify(answer.json())).toBe(201);
      const reservation = { id: answer.json().id as string, userId: this.userId, qty: this.qty, status: 'PENDING' as Status };
      model.reservations.push(reservation);
      if (this.expires) {
        await new Promise((resolve) => setTimeout(resolve, 1100));
        expect((await real.ctx.reconciler.run('api')).error).toBeUndefined();
        reservation.status = 'EXPIRED';
      }
    }
    await expectAgreement(model, real);
  }
  toString() {
    return `reserve ${this.userId} ${this.qty}${this.expires ? ' (expires)' : ''}`;
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

const steps = [
  fc.tuple(fc.integer({ min: 0, max: 12 }), fc.option(fc.integer({ min: 1, max: 4 }), { nil: null })).map(([total, limit]) => new Put(total, limit)),
  fc.integer({ min: 0, max: 12 }).map((total) => new PatchTotal(total)),
  fc.integer({ min: -4, max: 4 }).filter((delta) => delta !== 0).map((delta) => new Adjust(delta)),
  fc.tuple(fc.constantFrom(...USERS), fc.integer({ min: 1, max: 4 }), fc.boolean()).map(([userId, qty, expires]) => new Reserve(userId, qty, expires && qty === 1)),
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
      fc.asyncProperty(fc.commands(steps, { maxCommands: 14 }), async (commands) => {
        const sku = uniqueName('model-');
        const created = await call({ ctx }, 'PUT', `/v1/admin/skus/${sku}`, { total: 6 });
        expect(created.statusCode).toBe(201);
        const model: Model = { sku, total: 6, perUserLimit: null, reservations: [] };
        await fc.asyncModelRun(() => ({ model, real: { ctx } }), commands);
      }),
      { seed, numRuns },
    );
  }, 240_000);
});

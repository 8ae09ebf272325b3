/**
 * Moves of units between two buckets of a SKU (src/reconciler/bucketMoves.ts), on one Redis and on
 * the cluster, over four partitions: a move and its refusal; a move an engine left after its move
 * out (before and after that reached Postgres), finished by the reconciler once and only once; a
 * bucket that loses its data after units moved in or out of it (a real FLUSHALL of one Redis; on
 * the shared cluster the namespace's keys of that partition), rebuilt and the move finished so
 * that no unit is lost or made, a PUT meanwhile included; and seeded concurrent moves racing
 * reserves, every unit accounted for. Replay the last with BUCKET_SEED=<seed>.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../chaos/lib/random';
import { queryRows } from '../../src/db/client';
import { loadSkuFacts } from '../../src/db/factsRepository';
import { bucketSku, bucketSkus } from '../../src/domain/buckets';
import type { DomainError } from '../../src/domain/errors';
import { normalizeSkuSettings } from '../../src/domain/sku';
import { BucketMoves } from '../../src/reconciler/bucketMoves';
import { FactsAhead } from '../../src/reconciler/factsAhead';
import { checkDrift } from '../../src/reconciler/driftCheck';
import { putSku } from '../../src/services/putSku';
import { REDIS_TARGETS, type TestContext, conserved, createTestContext, deleteMatching, rawCounters, skuIn } from '../support/context';
import { type TestPostgres, type TestRedis, startTestPostgres, startTestRedis } from '../support/servers';

const PARTITIONS = 4;
const seed = Number(process.env.BUCKET_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe.each(REDIS_TARGETS)('moves between buckets on %s Redis', (redis) => {
  let server: TestRedis | undefined;
  let postgresServer: TestPostgres | undefined;
  let operator: Redis | undefined;
  let ctx: TestContext;
  /** Moves as an engine runs them, and the reconciler's finishing of them without its grace. */
  let moves: BucketMoves;

  beforeAll(async () => {
    const env = { REDIS_PARTITIONS: String(PARTITIONS) };
    if (redis === 'cluster') {
      ctx = await createTestContext({ redis, env });
    } else {
      [server, postgresServer] = await Promise.all([startTestRedis(), startTestPostgres()]);
      ctx = await createTestContext({ redisUrl: server.url, postgresUrl: postgresServer.url, env });
      operator = new Redis(server.url);
    }
    ctx.dataWatch.stop();
    moves = new BucketMoves(ctx.maintenance, ctx.db, new FactsAhead(ctx.db, ctx.maintenance.outbox), 0);
  });
  afterAll(async () => {
    await ctx?.close();
    operator?.disconnect();
    await Promise.all([server?.stop(), postgresServer?.stop()]);
  });

  /** A SKU split into `totals.length` buckets holding these totals (each bucket created as the SKU itself is). */
  async function bucketed(totals: number[]): Promise<string[]> {
    const sku = skuIn(ctx, 0, 'bkt-');
    const names = totals.map((_, bucket) => bucketSku(sku, bucket));
    const services = { engine: ctx.engine, maintenance: ctx.maintenance, db: ctx.db, reconciler: ctx.reconciler };
    for (const [n, name] of names.entries()) await putSku(services, name, normalizeSkuSettings({ total: totals[n] }), 'test');
    return names;
  }

  const movingOut = async (name: string) => Number((await ctx.redis.hget(ctx.keys.stock(name), 'movingOut')) ?? 0);
  const totals = async (names: string[]) => Promise.all(names.map(async (name) => (await rawCounters(ctx, name)).total));
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const pass = async () => {
    const report = await ctx.reconciler.run('api');
    expect(report.error).toBeUndefined();
    return report;
  };
  /** After a pass: Postgres's facts (SET, ADJUST and MOVE movements) give each bucket's total as Redis has it. */
  async function expectPostgresAgrees(names: string[]) {
    const report = await pass();
    expect(report.drift).toEqual([]);
    const facts = await loadSkuFacts(ctx.db, names);
    expect(names.map((name) => facts.get(name)!.total)).toEqual(await totals(names));
  }
  const moveRow = async (id: string) =>
    (await queryRows<{ out: boolean; in: boolean; qty: number }>(ctx.db, sql`select out_at is not null as out, in_at is not null as in, qty from bucket_moves where id = ${id}`))[0];
  /** Redis loses the data of the partition `name` is in: the whole server on one Redis, that partition's keys on the shared cluster. */
  async function losePartitionOf(name: string) {
    if (operator) await operator.flushall();
    else await deleteMatching(ctx.redis, `${ctx.config.keyPrefix}:{p${ctx.keys.partitionOfSku(name)}}:*`);
    await ctx.dataWatch.check();
  }

  it('moves units: out of one bucket, into the other, each in its own partition, and Postgres agrees', async () => {
    const [source, target] = await bucketed([10, 0]);
    expect(ctx.keys.partitionOfSku(target)).toBe((ctx.keys.partitionOfSku(source) + 1) % PARTITIONS);
    const result = await moves.move(source, target, 4, '');
    expect(result.moved).toBe(true);
    expect(await rawCounters(ctx, source)).toEqual({ total: 6, available: 6, reserved: 0, sold: 0 });
    expect(await rawCounters(ctx, target)).toEqual({ total: 4, available: 4, reserved: 0, sold: 0 });
    expect(await movingOut(source)).toBe(0);
    await expectPostgresAgrees([source, target]);
    expect(await moveRow((result as { id: string }).id)).toEqual({ out: true, in: true, qty: 4 });
  });

  it('refuses a move of more units than the source has available, changing nothing', async () => {
    const [source, target] = await bucketed([5, 1]);
    await ctx.engine.reserve({ userId: 'u1', orderId: null, lines: [{ sku: source, qty: 2 }], ttlSeconds: 900, allowPartial: false });
    expect(await moves.move(source, target, 4, '')).toEqual({ moved: false, reason: 'INSUFFICIENT_STOCK', available: 3 });
    expect(await totals([source, target])).toEqual([5, 1]);
    expect(await moves.move(`${source}-missing`, target, 1, '')).toEqual({ moved: false, reason: 'SKU_NOT_FOUND' });
  });

  it('a move its engine left after the move out reached Postgres is finished by the reconciler, once', async () => {
    const [source, target] = await bucketed([10, 0]);
    const scripts = ctx.maintenance.bucketMoves;
    const putIn = scripts.putIn;
    scripts.putIn = async () => {
      throw new Error('the engine stopped here');
    };
    try {
      await expect(moves.move(source, target, 4, '')).rejects.toThrow('the engine stopped here');
    } finally {
      scripts.putIn = putIn;
    }
    // The units are nowhere to be held, but still counted as moving out of the source.
    expect(await totals([source, target])).toEqual([6, 0]);
    expect(await movingOut(source)).toBe(4);
    expect(await moves.finishLeftMoves()).toBe(1);
    expect(await totals([source, target])).toEqual([6, 4]);
    expect(await movingOut(source)).toBe(0);
    expect(await moves.finishLeftMoves()).toBe(0);
    expect(await totals([source, target])).toEqual([6, 4]);
    await expectPostgresAgrees([source, target]);
  });

  /** A SKU split into buckets with these locations, each bucket holding the totals given for it. */
  async function bucketedAt(levels: Record<string, number>[]): Promise<string[]> {
    const sku = skuIn(ctx, 0, 'bkt-at-');
    const names = levels.map((_, bucket) => bucketSku(sku, bucket));
    const services = { engine: ctx.engine, maintenance: ctx.maintenance, db: ctx.db, reconciler: ctx.reconciler };
    for (const [n, name] of names.entries()) {
      const locations = Object.entries(levels[n]).map(([location, total]) => ({ location, total }));
      await putSku(services, name, normalizeSkuSettings({ locations }), 'test');
    }
    return names;
  }
  /** Each bucket's total at `location`, in Redis and in Postgres's facts, after a pass; every location conserved. */
  async function locationTotals(names: string[], location: string) {
    await pass();
    const facts = await loadSkuFacts(ctx.db, names);
    return Promise.all(
      names.map(async (name) => {
        const [total, available, reserved, sold] = (await ctx.redis.hmget(ctx.keys.stock(name), `${location}|total`, `${location}|available`, `${location}|reserved`, `${location}|sold`)).map(Number);
        expect(conserved({ total, available, reserved, sold })).toBe(true);
        return { redis: total, postgres: facts.get(name)!.locations.get(location)?.total ?? 0 };
      }),
    );
  }

  it('a location\'s units move within that location; a target that lost them is given them again there', async () => {
    const [source, target] = await bucketedAt([{ berlin: 4, paris: 6 }, { berlin: 0, paris: 0 }]);
    expect(await moves.move(source, target, 5, 'berlin')).toEqual({ moved: false, reason: 'INSUFFICIENT_STOCK', available: 4 });
    expect(await moves.move(source, target, 1, 'lyon')).toEqual({ moved: false, reason: 'INSUFFICIENT_STOCK', available: 0 });
    expect((await moves.move(source, target, 5, 'paris')).moved).toBe(true);
    expect(await locationTotals([source, target], 'paris')).toEqual([{ redis: 1, postgres: 1 }, { redis: 5, postgres: 5 }]);
    expect(await locationTotals([source, target], 'berlin')).toEqual([{ redis: 4, postgres: 4 }, { redis: 0, postgres: 0 }]);
    const again = await moves.move(source, target, 3, 'berlin');
    expect(again.moved).toBe(true);
    await losePartitionOf(target);
    await moves.finishLeftMoves();
    expect(await locationTotals([source, target], 'berlin')).toEqual([{ redis: 1, postgres: 1 }, { redis: 3, postgres: 3 }]);
    await expectPostgresAgrees([source, target]);
  });

  it('units on their way to a location a PUT retired meanwhile leave its total as they arrive, and Postgres agrees', async () => {
    const [source, target] = await bucketedAt([{ berlin: 4, paris: 6 }, { berlin: 2, paris: 0 }]);
    await ctx.engine.reserve({ userId: 'keeps-berlin', orderId: null, lines: [{ sku: target, qty: 1, location: 'berlin' }], ttlSeconds: 600, allowPartial: false });
    const move = { id: `retired-${seed}-${redis}`, source, target, qty: 3, location: 'berlin' };
    expect((await ctx.maintenance.bucketMoves.takeOut(move)).taken).toBe(true);
    const services = { engine: ctx.engine, maintenance: ctx.maintenance, db: ctx.db, reconciler: ctx.reconciler };
    await putSku(services, target, normalizeSkuSettings({ locations: [{ location: 'paris', total: 0 }] }), 'test');
    await pass();
    expect(await moves.finishLeftMoves()).toBe(1);
    // Berlin keeps the unit held there; the 3 arriving leave its total at once, as retired units do.
    expect(await locationTotals([source, target], 'berlin')).toEqual([{ redis: 1, postgres: 1 }, { redis: 1, postgres: 1 }]);
    const movements = await queryRows<{ type: string; qty: number }>(ctx.db, sql`select type, qty from stock_movements where sku = ${target} and location = 'berlin' and type in ('MOVE', 'ADJUST') order by at, event_key`);
    expect(movements.slice(-2)).toEqual([{ type: 'MOVE', qty: 3 }, { type: 'ADJUST', qty: -3 }]);
    await expectPostgresAgrees([source, target]);
  });

  it('a move left before its move out reached Postgres waits for the drain, then is finished', async () => {
    const [source, target] = await bucketed([10, 0]);
    const move = { id: `left-${seed}-${redis}`, source, target, qty: 3, location: '' };
    const out = await ctx.maintenance.bucketMoves.takeOut(move);
    expect(out.taken).toBe(true);
    // Postgres has not seen the units leave: adding them anywhere could make units out of nothing.
    expect(await moves.finishLeftMoves()).toBe(0);
    expect(await totals([source, target])).toEqual([7, 0]);
    await pass();
    expect(await moves.finishLeftMoves()).toBe(1);
    expect(await totals([source, target])).toEqual([7, 3]);
    await expectPostgresAgrees([source, target]);
    expect(await moveRow(move.id)).toEqual({ out: true, in: true, qty: 3 });
  });

  it('a target that loses its data after units moved in is rebuilt without them, then given them again', async () => {
    const [source, target] = await bucketed([10, 0]);
    await pass();
    const result = await moves.move(source, target, 3, '');
    expect(result.moved).toBe(true);
    // Lost before the drain took the move in: Postgres knows the units left, not that they arrived.
    await losePartitionOf(target);
    expect(await rawCounters(ctx, target)).toEqual({ total: 0, available: 0, reserved: 0, sold: 0 });
    expect(await moves.finishLeftMoves()).toBe(1);
    expect(await totals([source, target])).toEqual([7, 3]);
    expect(await moves.finishLeftMoves()).toBe(0);
    await expectPostgresAgrees([source, target]);
  });

  it('a PUT after a target that had received a move was rebuilt, the move not yet finished, does not count its units twice', async () => {
    // A split SKU whose second bucket is in another partition than its first: only the target loses its data on the cluster.
    let sku = skuIn(ctx, 0, 'rebuilt-target-');
    while (ctx.keys.partitionOfSku(bucketSku(sku, 1)) === 0) sku = skuIn(ctx, 0, 'rebuilt-target-');
    const names = bucketSkus(sku, 2);
    const services = { engine: ctx.engine, maintenance: ctx.maintenance, db: ctx.db, reconciler: ctx.reconciler };
    await putSku(services, sku, normalizeSkuSettings({ total: 10, buckets: 2 }), 'test');
    // A move whose engine died after its move in: pending in the source's partition, its marker in the target's.
    const move = { id: `rebuilt-${sku}`, source: names[0], target: names[1], qty: 3, location: '' };
    expect((await ctx.maintenance.bucketMoves.takeOut(move)).taken).toBe(true);
    expect(await ctx.maintenance.bucketMoves.putIn(move)).toBe('added');
    await pass();
    expect(await moveRow(move.id)).toMatchObject({ out: true, in: true });
    // The target is rebuilt from Postgres with the units, without the marker.
    await losePartitionOf(names[1]);
    expect(await totals(names)).toEqual([2, 8]);
    await putSku(services, sku, normalizeSkuSettings({ total: 12, buckets: 2 }), 'test');
    await moves.finishLeftMoves();
    expect(sum(await totals(names))).toBe(12);
    await expectPostgresAgrees(names);
  });

  it('a source that loses its data after units moved out is rebuilt without them', async () => {
    const [source, target] = await bucketed([10, 0]);
    await pass();
    expect((await moves.move(source, target, 6, '')).moved).toBe(true);
    await losePartitionOf(source);
    // The move out was in Postgres before the units were added: the rebuild does not bring them back.
    expect((await rawCounters(ctx, source)).total).toBe(4);
    await moves.finishLeftMoves();
    expect(sum(await totals([source, target]))).toBe(10);
    await expectPostgresAgrees([source, target]);
  });

  it('a move out reaches Postgres with the changes before it: a source that loses both is rebuilt with the units that came and went', async () => {
    const [source, target] = await bucketed([10, 0]);
    await pass();
    // Units the move takes, from an adjust still in the outbox when the move writes to Postgres.
    await ctx.engine.adjustStock(source, 5, 'restock', 'test');
    expect((await moves.move(source, target, 12, '')).moved).toBe(true);
    await losePartitionOf(source);
    await moves.finishLeftMoves();
    // Had the move out reached Postgres alone, its facts would say the source gave 12 of 10 units.
    expect((await rawCounters(ctx, source)).total).toBe(3);
    expect(sum(await totals([source, target]))).toBe(15);
    await expectPostgresAgrees([source, target]);
  });

  it('a move out written ahead of the drain leaves the row to the drain: a drift check meanwhile repairs nothing from facts that lack earlier changes', async () => {
    const [source, target] = await bucketed([10, 0]);
    await pass();
    // A change still in the outbox when the move writes its move out to Postgres.
    await ctx.engine.adjustStock(source, -3, 'test', 'test');
    expect((await moves.move(source, target, 4, '')).moved).toBe(true);
    // As after a failover: the row's facts are due for a check (driftCheck.ts).
    await ctx.db.execute(sql`update skus set facts_due = true where sku = ${source}`);
    const check = await checkDrift(ctx.maintenance, ctx.db, { repair: true });
    expect(check.drift.filter((item) => item.sku === source)).toEqual([]);
    expect(await totals([source, target])).toEqual([3, 4]);
    await expectPostgresAgrees([source, target]);
  });

  it(`PUTs of a split SKU racing moves between its buckets leave the total each names (seed ${seed})`, async () => {
    const random = new Random(seed + (redis === 'cluster' ? 8 : 7));
    const sku = skuIn(ctx, 0, 'put-race-');
    const names = bucketSkus(sku, 4);
    const services = { engine: ctx.engine, maintenance: ctx.maintenance, db: ctx.db, reconciler: ctx.reconciler };
    const putTotal = async (total: number) => {
      // A write its buckets' moves kept overtaking answers 503; retried, it ends where it means to.
      for (;;) {
        try {
          return await putSku(services, sku, normalizeSkuSettings({ total, buckets: 4 }), 'test');
        } catch (error) {
          if ((error as DomainError).code !== 'UNAVAILABLE') throw error;
        }
      }
    };
    await putTotal(40);
    let moving = true;
    const mover = (async () => {
      while (moving) {
        const from = random.int(0, 3);
        await moves.move(names[from], names[(from + random.int(1, 3)) % 4], random.int(1, 4), '');
        // As refills come: a few a second per bucket at the end of a sale, not back to back.
        await sleep(random.int(2, 20));
      }
    })();
    let last = 40;
    for (let n = 0; n < 12; n++) {
      last = random.int(20, 60);
      await putTotal(last);
    }
    moving = false;
    await mover;
    expect(sum(await totals(names)), `after PUTs of ${last} racing moves (seed ${seed})`).toBe(last);
    await expectPostgresAgrees(names);
  });

  it(`concurrent moves between four buckets racing reserves account for every unit (seed ${seed})`, async () => {
    const random = new Random(seed + (redis === 'cluster' ? 1 : 0));
    const names = await bucketed([40, 40, 40, 40]);
    const work: Promise<unknown>[] = [];
    let held = 0;
    for (let n = 0; n < 120; n++) {
      const from = random.int(0, names.length - 1);
      const to = (from + random.int(1, names.length - 1)) % names.length;
      if (random.chance(0.7)) {
        work.push(moves.move(names[from], names[to], random.int(1, 8), ''));
      } else {
        const qty = random.int(1, 3);
        // A bucket's internal name is no SKU a client may name: the engine is asked directly.
        const command = { userId: `u${n}`, orderId: null, lines: [{ sku: names[from], qty }], ttlSeconds: 900, allowPartial: false };
        work.push(
          ctx.engine.reserve(command).then(
            () => (held += qty),
            (error: DomainError) => expect(error.code).toBe('INSUFFICIENT_STOCK'),
          ),
        );
      }
    }
    await Promise.all(work);
    const counters = await Promise.all(names.map((name) => rawCounters(ctx, name)));
    for (const [n, level] of counters.entries()) expect(conserved(level), `${names[n]} ${JSON.stringify(level)}`).toBe(true);
    expect(sum(counters.map((level) => level.total))).toBe(160);
    expect(sum(counters.map((level) => level.reserved))).toBe(held);
    for (const name of names) expect(await movingOut(name)).toBe(0);
    await expectPostgresAgrees(names);
  });
});

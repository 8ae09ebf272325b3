/**
 * Reservations spanning partitions under seeded random crashes between partitions: each round
 * holds a reservation over two or three partitions, then ends it the normal way or stops "the
 * engine" after the home script (the other partitions not told), or leaves parts whose home never
 * came; the reconciler then finishes what was left. After every round every SKU is conserved and
 * every part ended the way its home did. Replay a failure with SPAN_SEED=<seed>.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newReservationId } from '../../src/domain/ids';
import { DEFAULT_TUNING } from '../../src/redis/redisStore';
import { endCall } from '../../src/redis/scriptCalls';
import { runScript } from '../../src/redis/scripts';
import { REDIS_TARGETS, type TestContext, conserved, createSku, createTestContext, rawCounters, readRecord, skuIn } from '../support/context';

const PARTITIONS = 8;
const ROUNDS = 40;
const seed = Number(process.env.SPAN_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** A small seeded generator (mulberry32): the same seed, the same rounds. */
function random(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.each(REDIS_TARGETS)('on %s Redis', (redis) => {
  let ctx: TestContext;
  let skus: string[];
  beforeAll(async () => {
    ctx = await createTestContext({ redis, env: { REDIS_PARTITIONS: String(PARTITIONS) } });
    skus = Array.from({ length: PARTITIONS }, (_, partition) => skuIn(ctx, partition, 'crash-'));
    for (const sku of skus) await createSku(ctx, sku, { total: 1000 });
  });
  afterAll(() => ctx.close());

  it(`${ROUNDS} rounds of spanning reservations with crashes between partitions stay conserved (seed ${seed})`, async () => {
    const next = random(seed + (redis === 'cluster' ? 1 : 0));
    const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
    for (let round = 0; round < ROUNDS; round++) {
      const where = `seed ${seed}, round ${round}`;
      const lineCount = 2 + Math.floor(next() * 2);
      const chosen = [...skus].sort(() => next() - 0.5).slice(0, lineCount);
      const items = chosen.map((sku) => ({ sku, qty: 1 + Math.floor(next() * 3) }));
      const crash = pick(['commit', 'release', 'commit-home-only', 'release-home-only', 'home-never-came'] as const);
      let id: string;
      let home: number;
      if (crash === 'home-never-came') {
        // The engine died after holding the other partitions' lines, before the home script.
        home = ctx.keys.partitionOfSku(items[0].sku);
        id = newReservationId(home);
        for (const { sku, qty } of items.slice(1)) {
          const partition = ctx.keys.partitionOfSku(sku);
          const keys = [ctx.keys.outbox(partition), ctx.keys.spanning(partition), ctx.keys.reservationPart(id, partition)];
          await runScript(ctx.redis, 'reserve_span', [...keys, ctx.keys.stock(sku), ctx.keys.expiry(sku), ctx.keys.buyers(sku)], [
            3600 * 1000, 100, 'part', id, `u${round}`, '', 900_000, 0, '', 0, '', sku, qty,
          ]);
        }
      } else {
        const created = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: `u${round}`, items } });
        expect(created.statusCode, where).toBe(201);
        id = created.json().id;
        home = ctx.keys.partitionOfReservation(id);
        if (crash === 'commit' || crash === 'release') {
          expect((await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/${crash}` })).statusCode, where).toBe(200);
        } else {
          // The engine died right after the home script: no other partition was told.
          const end = endCall({ keys: ctx.keys, tuning: DEFAULT_TUNING }, crash === 'commit-home-only' ? 'commit' : 'release', id);
          await runScript(ctx.redis, end.script, end.keys, end.args);
        }
      }
      await ctx.maintenance.settleSpanning();

      const homeStatus = (await readRecord(ctx, id))?.status ?? 'RELEASED';
      expect(homeStatus, where).not.toBe('PENDING');
      for (const { sku } of items) {
        const partition = ctx.keys.partitionOfSku(sku);
        if (partition === home) continue;
        const part = await ctx.redis.get(ctx.keys.reservationPart(id, partition));
        expect(part?.[0], `${where}: the part in partition ${partition} ended as its home did`).toBe(homeStatus[0]);
      }
      for (const sku of skus) expect(conserved(await rawCounters(ctx, sku)), `${where}: ${sku} conserved`).toBe(true);
      const reservedUnits = (await Promise.all(skus.map((sku) => rawCounters(ctx, sku)))).reduce((sum, counters) => sum + counters.reserved, 0);
      expect(reservedUnits, `${where}: nothing left held`).toBe(0);
    }
  });
});

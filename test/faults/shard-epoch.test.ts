/**
 * The shard epoch (src/domain/changeMark.ts, lua/start_epoch.lua), against real servers:
 * 1. a Redis Cluster (3 masters, 1 replica each): a SKU's changes drained to Postgres, its master's
 *    replica cut off (SIGSTOP, its replication link killed) so it misses the last changes, which
 *    are drained too; the master killed -9 and the lagging replica promoted (CLUSTER FAILOVER
 *    FORCE). Its versions rewound below Postgres's, yet the data watch begins a new epoch and the
 *    next change of the SKU reaches Postgres at once, and the drift repair brings back the changes
 *    the new master lost, from the facts; a SKU untouched since is settled by the drift repair too.
 *    Before the epoch, Postgres kept its old row until the counter passed it again;
 * 2. one Redis that lost its data (FLUSHALL): the rebuild begins a new epoch before restoring, so
 *    every later snapshot of a restored SKU reaches Postgres; the same Redis restarted in place on
 *    its AOF takes a new replication id, so a new epoch begins there too, harmlessly;
 *    and a pass whose drain meets a new epoch reports it, the next pass draining what it left;
 * 3. the start_epoch script itself: several engines noticing the same new master begin one epoch.
 */
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { askNode } from '../../tools/askNode';
import { type TestContext, adminHeaders, createSku, createTestContext, skuIn } from '../support/context';
import { ownClusterWithEngine } from '../support/ownCluster';
import { type TestPostgres, type TestRedis, startTestPostgres, startTestRedis } from '../support/servers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not happen in time`);
    await sleep(100);
  }
}

/** What the engine, over HTTP, and Postgres say of a SKU. */
function probes(ctx: TestContext) {
  const inject = (method: 'GET' | 'POST', url: string, payload?: object) => ctx.app.inject({ method, url, payload, headers: adminHeaders });
  return {
    adjust: async (sku: string, delta: number) => {
      const answer = await inject('POST', `/v1/admin/skus/${sku}/adjust`, { delta, reason: 'count' });
      expect(answer.statusCode, answer.body).toBe(200);
    },
    view: async (sku: string) => (await inject('GET', `/v1/skus/${sku}`)).json(),
    pass: async (repair = false) => {
      const report = await ctx.reconciler.run('api', { repair });
      expect(report.error).toBeUndefined();
      return report;
    },
    row: async (sku: string) => {
      const [row] = await queryRows<{ total: number; available: number; version: number; epoch: number }>(
        ctx.db,
        sql`select total, available, version::int, epoch::float8 as epoch from skus where sku = ${sku}`,
      );
      return row;
    },
    factsDue: async (sku: string) => (await queryRows<{ due: boolean }>(ctx.db, sql`select facts_due as due from skus where sku = ${sku}`))[0].due,
    /** The stock hash's change counter and epoch, as Redis holds them. */
    mark: async (sku: string) => {
      const [version, epoch] = await ctx.redis.hmget(ctx.keys.stock(sku), 'version', 'epoch');
      return { version: Number(version), epoch: Number(epoch ?? 0) };
    },
  };
}

const infoField = (info: string, field: string) => new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();

describe('a failover to a replica that missed the last changes (3 masters, 1 replica each)', () => {
  const own = ownClusterWithEngine(1);

  it('begins a new epoch on the promoted replica: the next change reaches Postgres though its version rewound', async () => {
    const [cluster, ctx] = [own.cluster(), own.ctx()];
    const { adjust, view, pass, row, mark, factsDue } = probes(ctx);
    const partition = 3;
    const sku = skuIn(ctx, partition, 'rewound-');
    const untouched = skuIn(ctx, partition, 'untouched-');
    const slot = Number(await askNode(cluster.masters[0], ['CLUSTER', 'KEYSLOT', ctx.keys.stock(sku)], 5000));
    const victim = await cluster.masterOf(slot);
    const replica = cluster.replicas.find((node) => node.masterPort === victim)!.port;

    await createSku(ctx, sku, { total: 10 });
    await createSku(ctx, untouched, { total: 10 });
    for (let n = 0; n < 3; n++) await adjust(sku, 1);
    await pass();
    const epochBefore = await ctx.redis.hgetall(ctx.keys.epoch(partition));
    expect(Number(epochBefore.epoch)).toBeGreaterThan(0);
    // The replica has everything so far.
    const written = Number(infoField(String(await askNode(victim, ['INFO', 'replication'])), 'master_repl_offset'));
    await until('the replica in sync', async () => {
      const info = String(await askNode(victim, ['INFO', 'replication']));
      return Number(/offset=(\d+)/.exec(infoField(info, 'slave0') ?? '')?.[1]) >= written;
    });

    // Cut the replica off: stopped, and its replication link closed, so nothing waits in its socket.
    cluster.pause(replica);
    expect(Number(await askNode(victim, ['CLIENT', 'KILL', 'TYPE', 'replica']))).toBe(1);
    for (let n = 0; n < 5; n++) await adjust(sku, 1);
    await adjust(untouched, 4);
    await pass();
    const drained = await row(sku);
    expect(drained).toMatchObject({ total: 18, available: 18 });
    expect((await row(untouched)).total).toBe(14);

    await cluster.kill(victim);
    cluster.resume(replica);
    await cluster.failover(replica, 'FORCE');

    // The promoted replica's counter rewound below what Postgres drained from the old master.
    const direct = new Redis({ host: '127.0.0.1', port: replica, lazyConnect: true, maxRetriesPerRequest: 1 });
    await direct.connect();
    const [promotedTotal, promotedVersion] = await direct.hmget(ctx.keys.stock(sku), 'total', 'version');
    direct.disconnect();
    expect(Number(promotedTotal)).toBe(13);
    expect(Number(promotedVersion)).toBeLessThan(drained.version);

    // The data watch sees another master serve the partition, and begins its new epoch.
    const epochAfter = await until('a new epoch', async () => {
      const epoch = await ctx.redis.hgetall(ctx.keys.epoch(partition));
      return epoch.replid && epoch.replid !== epochBefore.replid ? epoch : undefined;
    });
    expect(Number(epochAfter.epoch)).toBeGreaterThan(Number(epochBefore.epoch));
    expect(epochAfter.replid).toBe(infoField(String(await askNode(replica, ['INFO', 'replication'])), 'master_replid'));

    await until('the partition served', async () => (await view(sku)).total === 13);
    await adjust(sku, 2);
    await pass();
    const now = await view(sku);
    expect(now).toMatchObject({ total: 15, available: 15 });
    const redisMark = await mark(sku);
    expect(redisMark.version).toBeLessThan(drained.version);
    expect(redisMark.epoch).toBe(Number(epochAfter.epoch));
    // Postgres took it at once, its version lower than the one it held.
    expect(await row(sku)).toEqual({ total: 15, available: 15, ...redisMark });
    // The five adjusts the new master lost are facts in Postgres: the row is marked for a check of them.
    expect(await factsDue(sku)).toBe(true);

    // The untouched SKU still counts in the old epoch, Postgres ahead of it: the drift check compares
    // it (not busy) and the repair settles both sides on the facts (the lost adjust's movement).
    expect((await mark(untouched)).epoch).toBe(Number(epochBefore.epoch));
    expect((await view(untouched)).total).toBe(10);
    // The SKU changed since agrees with its row, but not with the facts: judged against them all the same.
    // Right after a forced failover a pass may still meet the cluster client's view from before it
    // (a 503); the schedule runs the next pass, and so does the test.
    const report = await until('a repair pass the cluster answers', async () => {
      const answered = await ctx.reconciler.run('api', { repair: true });
      return answered.error ? undefined : answered;
    });
    expect(report.drift).toContainEqual({ sku: untouched, field: 'total', redis: 10, postgres: 14, expected: 14 });
    expect(report.drift).toContainEqual({ sku, field: 'total', redis: 15, postgres: 15, expected: 20 });
    expect((await view(untouched)).total).toBe(14);
    expect(await row(untouched)).toMatchObject({ total: 14, available: 14, ...(await mark(untouched)) });
    expect((await view(sku)).total).toBe(20);
    expect(await row(sku)).toMatchObject({ total: 20, available: 20, ...(await mark(sku)) });
    expect(await factsDue(sku)).toBe(false);
    expect((await pass()).drift.filter((item) => item.sku === sku || item.sku === untouched)).toEqual([]);
  });
});

describe('a rebuild after FLUSHALL, a restart in place (one Redis on its AOF)', () => {
  let server: TestRedis;
  let postgres: TestPostgres;
  let ctx: TestContext;
  let operator: Redis;
  beforeAll(async () => {
    [server, postgres] = await Promise.all([startTestRedis({ appendonly: true }), startTestPostgres()]);
    ctx = await createTestContext({ redisUrl: server.url, postgresUrl: postgres.url, dataWatchIntervalMs: 200 });
    operator = new Redis(server.url);
    operator.on('error', () => {}); // refused while the server restarts
  });
  afterAll(async () => {
    await ctx?.close();
    operator?.disconnect();
    await Promise.all([server?.stop(), postgres?.stop()]);
  });

  it('begins a new epoch before restoring: later snapshots of the restored SKU reach Postgres', async () => {
    const { adjust, view, pass, row, mark } = probes(ctx);
    const sku = skuIn(ctx, 0, 'rebuilt-');
    await createSku(ctx, sku, { total: 5 });
    for (let n = 0; n < 4; n++) await adjust(sku, 1);
    await pass();
    const before = await row(sku);
    expect(before).toMatchObject({ total: 9, ...(await mark(sku)) });
    expect(before.epoch).toBeGreaterThan(0);

    await operator.flushall();
    await until('the rebuild', async () => (await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).statusCode === 200);
    const epoch = Number(await ctx.redis.hget(ctx.keys.epoch(0), 'epoch'));
    expect(epoch).toBeGreaterThan(before.epoch);
    // Restored at Postgres's version; its next change counts in the new epoch and reaches Postgres.
    expect((await mark(sku)).version).toBe(before.version);
    await adjust(sku, -2);
    await pass();
    expect((await view(sku)).total).toBe(7);
    expect(await mark(sku)).toEqual({ version: before.version + 1, epoch });
    expect(await row(sku)).toEqual({ total: 7, available: 7, version: before.version + 1, epoch });
  });
  it('a restart in place on its AOF takes a new replication id: a new epoch that loses nothing, and the next change reaches Postgres', async () => {
    const { adjust, pass, row } = probes(ctx);
    const sku = skuIn(ctx, 0, 'restarted-');
    await createSku(ctx, sku, { total: 3 });
    await adjust(sku, 1);
    await pass();
    const drained = await row(sku);
    const before = await ctx.redis.hgetall(ctx.keys.epoch(0));
    await server.kill();
    await server.start();
    const after = await until('a new epoch', async () => {
      const epoch = await ctx.redis.hgetall(ctx.keys.epoch(0));
      return epoch.replid && epoch.replid !== before.replid ? epoch : undefined;
    });
    expect(Number(after.epoch)).toBeGreaterThan(Number(before.epoch));
    await adjust(sku, 1);
    await pass();
    expect(await row(sku)).toEqual({ total: 5, available: 5, version: drained.version + 1, epoch: Number(after.epoch) });
  });

  it('a new epoch begun while a pass drains: the pass writes nothing of what it read, says so, and the next pass drains it', async () => {
    const { adjust, pass, row } = probes(ctx);
    const sku = skuIn(ctx, 0, 'mid-drain-');
    await createSku(ctx, sku, { total: 3 });
    await pass();
    await adjust(sku, 2);
    // The epoch changes right after the pass's drain read it, before any batch is written: what a
    // restart on the AOF or a failover noticed at that moment does.
    const { outbox } = ctx.maintenance;
    const epochOf = outbox.epochOf;
    let changed = false;
    outbox.epochOf = async (partition) => {
      const read = await epochOf.call(outbox, partition);
      if (!changed) {
        changed = true;
        await ctx.maintenance.startEpoch(partition, 'rebuild');
      }
      return read;
    };
    try {
      const report = await ctx.reconciler.run('api');
      expect(changed).toBe(true);
      expect(report.eventsWritten).toBe(0);
      expect(report.error).toMatch(/the drain of partitions 0 stopped: they began a new shard epoch/);
      expect(await row(sku)).toMatchObject({ total: 3, available: 3 });
    } finally {
      outbox.epochOf = epochOf;
    }
    expect((await pass()).eventsWritten).toBeGreaterThanOrEqual(1);
    expect(await row(sku)).toMatchObject({ total: 5, available: 5 });
  });
});

describe('start_epoch', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({});
  });
  afterAll(() => ctx?.close());

  it('begins one epoch for several engines noticing the same master; a rebuild always begins one, later than the last', async () => {
    const partition = 0;
    // Only this test begins epochs here.
    ctx.dataWatch.stop();
    await ctx.redis.del(ctx.keys.epoch(partition));
    const replid = infoField(await ctx.redis.info('replication'), 'master_replid');
    const first = await Promise.all(Array.from({ length: 8 }, () => ctx.maintenance.startEpoch(partition, 'ensure')));
    expect(first.filter(({ begun }) => begun)).toHaveLength(1);
    expect(new Set(first.map(({ epoch }) => epoch)).size).toBe(1);
    expect(first[0].replid).toBe(replid);
    const [{ epoch }] = first;
    expect(await ctx.maintenance.startEpoch(partition, 'ensure')).toEqual({ begun: false, epoch, replid });

    // Another master (as recorded): a new epoch, once.
    await ctx.redis.hset(ctx.keys.epoch(partition), 'replid', 'f'.repeat(40));
    const moved = await ctx.maintenance.startEpoch(partition, 'ensure');
    expect(moved.begun).toBe(true);
    expect(moved.epoch).toBeGreaterThan(epoch);
    expect((await ctx.maintenance.startEpoch(partition, 'ensure')).begun).toBe(false);

    // An epoch recorded ahead of this server's clock is still passed.
    const ahead = Date.now() + 3_600_000;
    await ctx.redis.hset(ctx.keys.epoch(partition), 'epoch', ahead);
    expect(await ctx.maintenance.startEpoch(partition, 'rebuild')).toEqual({ begun: true, epoch: ahead + 1, replid });
  });
});

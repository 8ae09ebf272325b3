/**
 * REDIS_WAIT_REPLICAS=1 on a cluster of 3 masters with 1 replica each (AOF), against a replica
 * promoted after it missed what its master did alone (the chaos campaign's stale-replica-failover):
 * the replica of a master is killed -9, then the master; the replica comes back from its AOF and is
 * promoted with CLUSTER FAILOVER TAKEOVER, the old master back as its replica. Whatever the engine
 * answered or stopped retrying before the promotion must still hold after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askNode } from '../../tools/askNode';
import { type TestContext, createSku, createTestContext, rawCounters, skuIn, userIn } from '../support/context';
import { type TestRedisCluster, startTestRedisCluster } from '../support/servers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Partitions whose keys a master serves now. */
async function partitionsOf(ctx: TestContext, cluster: TestRedisCluster, master: number): Promise<number[]> {
  const partitions: number[] = [];
  for (let partition = 0; partition < ctx.config.redisPartitions; partition++) {
    const slot = Number(await askNode(master, ['CLUSTER', 'KEYSLOT', ctx.keys.dataMarker(partition)], 5000));
    if ((await cluster.masterOf(slot)) === master) partitions.push(partition);
  }
  return partitions;
}

/** The masters and their replicas as they stand now (cluster.masters is the layout at start, before failovers). */
async function roles(cluster: TestRedisCluster): Promise<{ masters: number[]; replicaOf: Map<number, number> }> {
  const masters: number[] = [];
  const replicaOf = new Map<number, number>();
  for (const { port } of cluster.nodes) {
    // A node killed by the test answers nothing: it has no role now.
    const role = (await askNode(port, ['ROLE'], 5000).catch(() => ['down'])) as [string, string, number];
    if (role[0] === 'master') masters.push(port);
    else if (role[0] === 'down') continue;
    else replicaOf.set(Number(role[2]), port);
  }
  return { masters: masters.sort(), replicaOf };
}

/** The stale promotion of `master`'s replica, once `meanwhile` ran with the replica down. */
async function promoteStaleReplica(cluster: TestRedisCluster, master: number, meanwhile: () => Promise<void>, replicaPort?: number): Promise<void> {
  const replica = replicaPort ?? (await roles(cluster)).replicaOf.get(master)!;
  await cluster.kill(replica);
  await meanwhile();
  await cluster.kill(master);
  await cluster.start(replica);
  await cluster.failover(replica, 'TAKEOVER');
  await cluster.start(master);
}

describe('REDIS_WAIT_REPLICAS=1: a replica promoted without what its master did alone', () => {
  let cluster: TestRedisCluster;
  let ctx: TestContext;

  beforeAll(async () => {
    cluster = await startTestRedisCluster({ replicasPerMaster: 1, appendonly: true });
    ctx = await createTestContext({ env: { REDIS_CLUSTER_NODES: cluster.nodesList, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1000' }, dataWatchIntervalMs: 200 });
  });
  afterAll(async () => {
    await ctx?.close();
    await cluster?.stop();
  });

  /** Which master serves each partition now. */
  const owners = async () => {
    const { masters } = await roles(cluster);
    const owner: number[] = [];
    for (const master of masters) for (const partition of await partitionsOf(ctx, cluster, master)) owner[partition] = master;
    return owner;
  };

  /** Two SKUs of 10 units in partitions of different masters, and a hold of one unit of each: a reserve spanning partitions. */
  const spanningHold = async (homePartition: number, partPartition: number, prefix: string) => {
    const [home, part] = [skuIn(ctx, homePartition, `${prefix}-home-`), skuIn(ctx, partPartition, `${prefix}-part-`)];
    await createSku(ctx, home, { total: 10 });
    await createSku(ctx, part, { total: 10 });
    const payload = { userId: prefix, ttlSeconds: 120, items: [{ sku: home, qty: 1 }, { sku: part, qty: 1 }] };
    const held = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload });
    expect(held.statusCode).toBe(201);
    const id = held.json().id as string;
    const end = async (what: 'commit' | 'release') => (await ctx.app.inject({ method: 'POST', url: `/v1/reservations/${id}/${what}` })).statusCode;
    return { home, part, id, end };
  };

  /** Sends `end` again until it answers 200 (the new master needs its replica back first), for at most 30 s. */
  const until200 = async (end: () => Promise<number>, status = 0) => {
    for (const deadline = Date.now() + 30_000; status !== 200 && Date.now() < deadline; await sleep(250)) status = await end();
    return status;
  };

  it('a commit of a reserve spanning partitions is answered 200 only once every part is on a replica', async () => {
    const owner = await owners();
    const partPartition = owner.findIndex((master) => master !== owner[0]);
    const { home, part, end } = await spanningHold(0, partPartition, 'span');

    let first = 0;
    // The part's end runs on its master while the replica is down: lost with the promotion unless
    // the commit waited for it (then answered 503, and the retry carries the end to the new master).
    await promoteStaleReplica(cluster, owner[partPartition], async () => {
      first = await end('commit');
    });
    expect(await until200(() => end('commit'), first)).toBe(200);
    expect(await rawCounters(ctx, home)).toEqual({ total: 10, available: 9, reserved: 0, sold: 1 });
    // First answered 200 before the fix, and the promoted master then still held the part.
    expect({ first, part: await rawCounters(ctx, part) }).toEqual({ first: 503, part: { total: 10, available: 9, reserved: 0, sold: 1 } });
  });

  it("the reconciler carries a spanning reservation's end to its parts only once the home's replicas have it", async () => {
    const owner = await owners();
    // The part's partition is settled first, so it reads the home's end before the home's own settling could.
    const homePartition = owner.length - 1 - [...owner].reverse().findIndex((master) => master !== owner[0]);
    const { home, part, id, end } = await spanningHold(homePartition, 0, 'settled');

    let first = 0;
    await promoteStaleReplica(cluster, owner[homePartition], async () => {
      // Committed on the home's master alone (answered 503), then read by the part's settling.
      first = await end('commit');
      await ctx.redis.zadd(ctx.keys.spanning(0), 0, id);
      await ctx.maintenance.settleSpanning().catch(() => {});
    });
    expect(first).toBe(503);
    // The promoted home never had the commit: the reservation is released, in every partition.
    expect(await until200(() => end('release'))).toBe(200);
    expect(await rawCounters(ctx, home)).toEqual({ total: 10, available: 10, reserved: 0, sold: 0 });
    expect(await rawCounters(ctx, part)).toEqual({ total: 10, available: 10, reserved: 0, sold: 0 });
  });
  it("a keyed reserve answered 503: its claim's revoke is retried until a replica has it, so a retry is served after the promotion", async () => {
    const owner = await owners();
    // The key is claimed in the user's partition, the hold made in the SKU's, on another master.
    const holdPartition = owner.findIndex((master) => master !== owner[0]);
    const sku = skuIn(ctx, holdPartition, 'claimed-');
    await createSku(ctx, sku, { total: 10 });
    const { replicaOf } = await roles(cluster);
    const holdReplica = replicaOf.get(owner[holdPartition])!;
    const claimReplica = replicaOf.get(owner[0])!;
    const payload = { userId: userIn(ctx, 0, 'claimer-'), items: [{ sku, qty: 1 }] };
    const reserve = async () =>
      (await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers: { 'idempotency-key': 'claimed-once' }, payload })).statusCode;

    // The hold's master has no replica: the reserve is answered 503 once its WAIT gives up (1 s),
    // long after its claim reached the claim's replica, which is stopped meanwhile.
    await cluster.kill(holdReplica);
    const sent = reserve();
    await sleep(400);
    cluster.pause(claimReplica);
    expect(await sent).toBe(503);
    // The undo revokes the claim on its master alone; then that replica is promoted, from its AOF.
    await promoteStaleReplica(
      cluster,
      owner[0],
      async () => {
        await sleep(1000);
      },
      claimReplica,
    );
    await cluster.start(holdReplica);
    // A retry may meet the claim (409 IDEMPOTENCY_IN_FLIGHT) until the undo, sent again every
    // 250 ms, gets through. Before, the promoted replica had the claim and not its revoke, which
    // nobody sent again: 409 for the claim's 30 s.
    let status = 0;
    for (const deadline = Date.now() + 10_000; status !== 201 && Date.now() < deadline; await sleep(250)) status = await reserve();
    expect(status).toBe(201);
    expect((await rawCounters(ctx, sku)).reserved).toBe(1);
  });
});

import { askNode } from '../../tools/askNode';
import { randomBytes } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { CLIENT_OPTIONS, connectWithRetry, createRedisCluster } from '../../src/redis/connect';
import { type TestRedisCluster, startTestRedisCluster } from '../support/servers';

/** The client the engine makes for REDIS_CLUSTER_NODES=`nodesList`, connected. */
async function clientFor(nodesList: string): Promise<Cluster> {
  const client = createRedisCluster(loadConfig({ REDIS_CLUSTER_NODES: nodesList }).redisClusterNodes!);
  client.on('error', () => {}); // a killed node is expected here
  await connectWithRetry(client);
  return client;
}


/** How a call ended and how long it took. */
async function timed<T>(call: Promise<T>): Promise<{ ok: boolean; value?: T; error?: string; ms: number }> {
  const started = Date.now();
  return call.then(
    (value) => ({ ok: true, value, ms: Date.now() - started }),
    (error: Error) => ({ ok: false, error: error.message, ms: Date.now() - started }),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A failed call must end within the command timeout, plus scheduling slack on a busy machine. */
const FAIL_FAST_MS = Number(CLIENT_OPTIONS.commandTimeout) + 700;
const ns = `rc${randomBytes(4).toString('hex')}`;
const keyOf = (tag: string, name = 'k') => `${ns}{${tag}}:${name}`;
const slotOf = async (client: Cluster, key: string) => Number(await client.cluster('KEYSLOT', key));

describe('on the shared 3-master cluster', () => {
  let client: Cluster;
  beforeAll(async () => {
    client = await clientFor(inject('redisClusterNodes'));
  });
  afterAll(async () => {
    for (let tag = 0; tag < 16; tag++) await client.del(keyOf(`p${tag}`), keyOf(`p${tag}`, 'a'), keyOf(`p${tag}`, 'b'));
    await client.quit();
  });

  it('connects to every master, so a first burst of calls over all of them succeeds', async () => {
    expect(await client.ping()).toBe('PONG');
    expect(client.nodes('master')).toHaveLength(3);
    expect(client.nodes('master').map((node) => node.status)).toEqual(['ready', 'ready', 'ready']);
    const burst = Array.from({ length: 48 }, (_, i) => client.set(keyOf(`p${i % 16}`), 'burst'));
    expect(await Promise.all(burst)).toEqual(Array(48).fill('OK'));
  });

  it('runs a script over keys that share one hash tag, by EVAL and by defineCommand', async () => {
    const lua = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); return redis.call('MGET', KEYS[1], KEYS[2])";
    expect(await client.eval(lua, 2, keyOf('p3', 'a'), keyOf('p3', 'b'), '1', '2')).toEqual(['1', '2']);
    // EVALSHA on a node that never saw the script: NOSCRIPT, then EVAL, to the keys' node.
    client.defineCommand('setPair', { numberOfKeys: 2, lua });
    const withScript = client as Cluster & { setPair(a: string, b: string, x: string, y: string): Promise<string[]> };
    expect(await withScript.setPair(keyOf('p4', 'a'), keyOf('p4', 'b'), '3', '4')).toEqual(['3', '4']);
  });

  it('refuses a script over keys of two hash tags with CROSSSLOT', async () => {
    expect(await slotOf(client, keyOf('p0'))).not.toBe(await slotOf(client, keyOf('p1')));
    await expect(client.eval("return redis.call('MGET', KEYS[1], KEYS[2])", 2, keyOf('p0'), keyOf('p1'))).rejects.toThrow(/CROSSSLOT/);
  });

  it('puts keys of different hash tags on different masters', async () => {
    const holders = new Set<number>();
    for (let tag = 0; tag < 16; tag++) {
      const key = keyOf(`p${tag}`);
      await client.set(key, String(tag));
      const slot = await slotOf(client, key);
      // Which master really holds it: ask each for the keys it keeps in that slot.
      const holding = [];
      for (const master of client.nodes('master')) {
        const keys = (await master.call('CLUSTER', 'GETKEYSINSLOT', slot, 1000)) as string[];
        if (keys.includes(key)) holding.push(master.options.port!);
      }
      expect(holding).toHaveLength(1);
      holders.add(holding[0]);
    }
    expect(holders.size).toBeGreaterThanOrEqual(2);
  });
});

describe('a dead master (3 masters, no replicas)', () => {
  let cluster: TestRedisCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startTestRedisCluster();
    client = await clientFor(cluster.nodesList);
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('follows ASK and MOVED through a slot migration, and retries TRYAGAIN until the keys are together', async () => {
    const [source, target, third] = cluster.masters;
    let tag = 0;
    while ((await cluster.masterOf(await slotOf(client, keyOf(`m${tag}`)))) !== source) tag++;
    const [a, b] = [keyOf(`m${tag}`, 'a'), keyOf(`m${tag}`, 'b')];
    const slot = await slotOf(client, a);
    await client.set(a, 'A');
    await client.set(b, 'B');
    const [sourceId, targetId] = [String(await askNode(source, ['CLUSTER', 'MYID'])), String(await askNode(target, ['CLUSTER', 'MYID']))];
    await askNode(target, ['CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId]);
    await askNode(source, ['CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId]);
    await askNode(source, ['MIGRATE', '127.0.0.1', target, '', 0, 5000, 'KEYS', a]);

    // `a` is on the target, `b` still on the source: the source answers ASK for `a`.
    expect(await client.get(a)).toBe('A');
    expect(await client.get(b)).toBe('B');
    // A script over both gets TRYAGAIN while they are apart, and is retried until they are together.
    let settled = false;
    const script = timed(client.eval("return redis.call('MGET', KEYS[1], KEYS[2])", 2, a, b)).finally(() => (settled = true));
    await sleep(150);
    expect(settled).toBe(false);
    await askNode(source, ['MIGRATE', '127.0.0.1', target, '', 0, 5000, 'KEYS', b]);
    for (const port of [target, source, third]) await askNode(port, ['CLUSTER', 'SETSLOT', slot, 'NODE', targetId]);
    expect(await script).toMatchObject({ ok: true, value: ['A', 'B'] });

    // The slot has moved for good: the source answers MOVED, which the client follows.
    expect(await cluster.masterOf(slot)).toBe(target);
    expect(await client.set(a, 'after the move')).toBe('OK');
    expect(await askNode(target, ['GET', a])).toBe('after the move');
  });

  /** A tag whose slot the victim serves and one it does not. */
  async function tagsAround(victim: number) {
    let deadTag = '';
    let liveTag = '';
    for (let tag = 0; !deadTag || !liveTag; tag++) {
      const onVictim = (await cluster.masterOf(await slotOf(client, keyOf(`p${tag}`)))) === victim;
      if (onVictim && !deadTag) deadTag = `p${tag}`;
      if (!onVictim && !liveTag) liveTag = `p${tag}`;
    }
    return { deadTag, liveTag };
  }

  it('times out the calls for a hung master within the command timeout while the other slots still answer', async () => {
    const victim = cluster.masters[0];
    const { deadTag, liveTag } = await tagsAround(victim);
    await client.set(keyOf(deadTag), 'before');
    cluster.pause(victim);
    try {
      const [dead, live] = await Promise.all([timed(client.set(keyOf(deadTag), 'paused')), timed(client.set(keyOf(liveTag), 'paused'))]);
      expect(dead).toMatchObject({ ok: false, error: 'Command timed out' });
      expect(dead.ms).toBeLessThan(FAIL_FAST_MS);
      expect(live).toMatchObject({ ok: true, value: 'OK' });
    } finally {
      cluster.resume(victim);
    }
    expect(await client.get(keyOf(deadTag))).toBe('paused'); // it ran once the node woke: a timeout means "unknown"
  });

  it('fails the calls for its slots fast while the other slots still answer', async () => {
    const victim = cluster.masters[0];
    const { deadTag, liveTag } = await tagsAround(victim);
    await client.set(keyOf(deadTag), 'before');
    await client.set(keyOf(liveTag), 'before');
    await cluster.kill(victim);

    // First the connection is gone; after the node timeout (2 s) the others mark it failed and
    // answer CLUSTERDOWN for its slots. Both must fail fast, and the other slots keep working.
    const seen = new Set<string>();
    let slowest = 0;
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      const [dead, live] = await Promise.all([timed(client.set(keyOf(deadTag), 'after')), timed(client.set(keyOf(liveTag), 'after'))]);
      expect(dead.ok).toBe(false);
      expect(dead.ms).toBeLessThan(FAIL_FAST_MS);
      seen.add(dead.error!);
      slowest = Math.max(slowest, dead.ms);
      expect(live).toMatchObject({ ok: true, value: 'OK' });
      await sleep(250);
    }
    console.log(`calls for the dead master's slots failed within ${slowest} ms with: ${[...seen].join(' | ')}`);
    const info = String(await askNode(cluster.masters[1], ['CLUSTER', 'INFO']));
    expect(info).toMatch(/cluster_state:ok/);
  });
});

describe('a master killed with a replica (3 masters, 1 replica each)', () => {
  let cluster: TestRedisCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startTestRedisCluster({ replicasPerMaster: 1 });
    client = await clientFor(cluster.nodesList);
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('has the replica promoted within a bounded time, and the client answers again for its slots', async () => {
    const victim = cluster.masters[0];
    const replica = cluster.replicas.find((node) => node.masterPort === victim)!.port;
    let tag = 0;
    while ((await cluster.masterOf(await slotOf(client, keyOf(`p${tag}`)))) !== victim) tag++;
    const key = keyOf(`p${tag}`);
    const slot = await slotOf(client, key);
    await client.set(key, 'kept');
    // Replication is asynchronous: wait until the replica has the write before the kill.
    expect(await askNode(victim, ['WAIT', 1, 2000])).toBe(1);

    await cluster.kill(victim);
    const killedAt = Date.now();
    let promotedAfter = -1;
    while (Date.now() - killedAt < 15_000) {
      const newMaster = await cluster.masterOf(slot).catch(() => undefined);
      const role = String(await askNode(replica, ['INFO', 'replication']));
      if (newMaster === replica && /^role:master/m.test(role)) {
        promotedAfter = Date.now() - killedAt;
        break;
      }
      await sleep(100);
    }
    expect(promotedAfter).toBeGreaterThanOrEqual(0);
    const nodesView = String(await askNode(cluster.masters[1], ['CLUSTER', 'NODES']));
    expect(nodesView).toMatch(new RegExp(`127\\.0\\.0\\.1:${victim}@\\d+ master,fail `));

    // The client learns the new master from the next MOVED; no call may hang meanwhile.
    let answer = await timed(client.get(key));
    while (!answer.ok && Date.now() - killedAt < promotedAfter + 5000) {
      expect(answer.ms).toBeLessThan(FAIL_FAST_MS);
      await sleep(100);
      answer = await timed(client.get(key));
    }
    expect(answer).toMatchObject({ ok: true, value: 'kept' });
    expect(await client.set(key, 'written after the failover')).toBe('OK');
    console.log(`replica ${replica} promoted ${promotedAfter} ms after master ${victim} was killed; the client answered again ${Date.now() - killedAt} ms after the kill`);
  });
});

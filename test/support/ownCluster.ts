import { afterAll, beforeAll } from 'vitest';
import { type TestContext, createTestContext } from './context';
import { type TestRedisCluster, startTestRedisCluster } from './servers';

/**
 * A Redis Cluster of the describe block's own (3 masters, `replicasPerMaster` replicas each), for
 * faults that kill or promote its nodes, and an engine on it whose data watch checks every 200 ms;
 * started before the block's tests, stopped after. Read both through the returned getters.
 */
export function ownClusterWithEngine(replicasPerMaster = 1): { cluster: () => TestRedisCluster; ctx: () => TestContext } {
  let cluster: TestRedisCluster | undefined;
  let ctx: TestContext | undefined;
  beforeAll(async () => {
    cluster = await startTestRedisCluster({ replicasPerMaster });
    ctx = await createTestContext({ env: { REDIS_CLUSTER_NODES: cluster.nodesList }, dataWatchIntervalMs: 200 });
  });
  afterAll(async () => {
    await ctx?.close();
    await cluster?.stop();
  });
  return { cluster: () => cluster!, ctx: () => ctx! };
}

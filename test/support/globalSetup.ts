import type { TestProject } from 'vitest/node';
import { startTestPostgres, startTestRedis, startTestRedisCluster } from './servers';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
    /** REDIS_CLUSTER_NODES of a Redis Cluster of 3 masters without replicas. */
    redisClusterNodes: string;
  }
}

/**
 * One Redis, one Redis Cluster and one Postgres server for the whole run; every test file uses its
 * own namespace in them. Tests that kill or pause cluster nodes start a cluster of their own.
 */
export default async function setup(project: TestProject) {
  const started = await Promise.allSettled([
    startTestRedis(),
    startTestPostgres(),
    // Nobody kills a node of this one: a long node timeout keeps a busy machine from failing a slow node.
    startTestRedisCluster({ nodeTimeoutMs: 5000 }),
  ]);
  const stopAll = () => Promise.all(started.map((result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)));
  const [redis, postgres, cluster] = started;
  if (redis.status === 'rejected' || postgres.status === 'rejected' || cluster.status === 'rejected') {
    await stopAll();
    throw started.find((result) => result.status === 'rejected')!.reason;
  }
  project.provide('redisUrl', redis.value.url);
  project.provide('postgresUrl', postgres.value.url);
  project.provide('redisClusterNodes', cluster.value.nodesList);
  return async () => {
    await stopAll();
  };
}

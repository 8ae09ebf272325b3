/**
 * The tests' names for the throwaway servers of src/servers (the bench uses them too): a
 * redis-server, a Redis Cluster of redis-servers and a Postgres cluster made with initdb, each on
 * free loopback ports.
 */
export { freePort } from '../../src/servers/freePort';
export { type ThrowawayPostgres as TestPostgres, startThrowawayPostgres as startTestPostgres } from '../../src/servers/throwawayPostgres';
export { type ThrowawayRedis as TestRedis, startThrowawayRedis as startTestRedis } from '../../src/servers/throwawayRedis';
export {
  type ThrowawayRedisCluster as TestRedisCluster,
  type ThrowawayRedisClusterOptions as TestRedisClusterOptions,
  startThrowawayRedisCluster as startTestRedisCluster,
} from '../../src/servers/throwawayRedisCluster';

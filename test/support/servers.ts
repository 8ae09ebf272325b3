/**
 * The tests' names for the throwaway servers of tools/ (the bench and chaos runs use them too): a
 * redis-server, a Redis Cluster of redis-servers and a Postgres cluster made with initdb, each on
 * free loopback ports.
 */
export { freePort } from '../../tools/freePort';
export { type ThrowawayPostgres as TestPostgres, startThrowawayPostgres as startTestPostgres } from '../../tools/throwawayPostgres';
export { type ThrowawayRedis as TestRedis, startThrowawayRedis as startTestRedis } from '../../tools/throwawayRedis';
export {
  type ThrowawayRedisCluster as TestRedisCluster,
  type ThrowawayRedisClusterOptions as TestRedisClusterOptions,
  startThrowawayRedisCluster as startTestRedisCluster,
} from '../../tools/throwawayRedisCluster';

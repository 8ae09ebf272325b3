/**
 * The tests' names for the throwaway servers of src/servers (the bench uses them too): a
 * redis-server and a Postgres cluster made with initdb, each on a free loopback port.
 */
export { freePort } from '../../src/servers/freePort';
export { type ThrowawayPostgres as TestPostgres, startThrowawayPostgres as startTestPostgres } from '../../src/servers/throwawayPostgres';
export { type ThrowawayRedis as TestRedis, startThrowawayRedis as startTestRedis } from '../../src/servers/throwawayRedis';

import type { TestProject } from 'vitest/node';
import { startTestPostgres, startTestRedis } from './servers';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
  }
}

/** One Redis and one Postgres server for the whole run; every test file uses its own namespace in them. */
export default async function setup(project: TestProject) {
  const [redis, postgres] = await Promise.all([startTestRedis(), startTestPostgres()]);
  project.provide('redisUrl', redis.url);
  project.provide('postgresUrl', postgres.url);
  return async () => {
    await Promise.all([redis.stop(), postgres.stop()]);
  };
}

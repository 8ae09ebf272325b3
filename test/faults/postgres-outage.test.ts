/**
 * The Postgres of DATABASE_URL going away under a running engine: readiness says so. On a Postgres
 * server of this file's own, killed for real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from '../support/context';
import { type TestPostgres, startTestPostgres } from '../support/servers';

describe('GET /ready with the Postgres of DATABASE_URL down', () => {
  let postgres: TestPostgres;
  let ctx: TestContext;
  beforeAll(async () => {
    postgres = await startTestPostgres();
    ctx = await createTestContext({ postgresUrl: postgres.url });
  });
  afterAll(async () => {
    postgres.start();
    await ctx.close();
    await postgres.stop();
  });

  it('answers 503 UNAVAILABLE in the one error shape, naming Postgres', async () => {
    expect((await ctx.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    postgres.kill();
    const response = await ctx.app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: { code: 'UNAVAILABLE', message: expect.stringContaining('Postgres') } });
  });
});

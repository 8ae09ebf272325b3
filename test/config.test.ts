import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';

describe('configuration', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      redisUrl: undefined,
      databaseUrl: undefined,
      dataDir: path.resolve('.data'),
      adminToken: undefined,
      apiToken: undefined,
      reservationTtlSeconds: 900,
      reconcileCron: '*/5 * * * * *',
      keyPrefix: 'fs',
    });
  });

  it.each([
    ['PORT', 'http'],
    ['PORT', '70000'],
    ['RESERVATION_TTL_SECONDS', '0'],
    ['RESERVATION_TTL_SECONDS', '3601'],
    ['RECORD_RETENTION_SECONDS', '1.5'],
    ['KEY_PREFIX', 'a{b}'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('refuses REDIS_CLUSTER_NODES, which the scripts cannot serve yet, instead of failing per request', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b:7001' })).toThrow(/REDIS_CLUSTER_NODES is not supported/);
  });
});

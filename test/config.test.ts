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
      redisWait: { replicas: 0, timeoutMs: 200 },
    });
  });

  it.each([
    ['PORT', 'http'],
    ['PORT', '70000'],
    ['RESERVATION_TTL_SECONDS', '0'],
    ['RESERVATION_TTL_SECONDS', '3601'],
    ['RECORD_RETENTION_SECONDS', '1.5'],
    ['KEY_PREFIX', 'a{b}'],
    ['REDIS_WAIT_REPLICAS', '-1'],
    ['REDIS_WAIT_REPLICAS', 'one'],
    ['REDIS_WAIT_TIMEOUT_MS', '0'],
    ['REDIS_WAIT_TIMEOUT_MS', '2000'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('reads REDIS_CLUSTER_NODES as a list of host:port, next to REDIS_URL (which it wins over)', () => {
    expect(loadConfig({}).redisClusterNodes).toBeUndefined();
    expect(loadConfig({ REDIS_URL: 'redis://x:6379', REDIS_CLUSTER_NODES: 'redis-a:7000, 10.0.0.2:7001,[::1]:7002' })).toMatchObject({
      redisUrl: 'redis://x:6379',
      redisClusterNodes: [
        { host: 'redis-a', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    });
  });

  it.each(['a:7000,b', 'a:7000,,b:7001', 'a:0', 'a:65536', ':7000', 'a b:7000', 'redis://a:7000'])(
    'refuses REDIS_CLUSTER_NODES=%s naming the bad entry',
    (value) => {
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: value })).toThrow(ConfigError);
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: value })).toThrow(/REDIS_CLUSTER_NODES .*got the entry "/);
    },
  );
});

import { connectWithRetry, createRedisClient } from '../../src/redis/connect';
import { createStockServices } from '../../src/redis/stockServices';
import { DomainError } from '../../src/domain/errors';
import type { ReserveBackend } from './backend';

/** The engine itself: one atomic Lua script per reserve. */
export async function luaBackend(url: string): Promise<ReserveBackend> {
  const redis = createRedisClient(url);
  await connectWithRetry(redis);
  const { engine, maintenance } = createStockServices(redis, { keyPrefix: 'bench' });
  let skus: string[] = [];
  return {
    async setup(names, total) {
      skus = names;
      await redis.flushdb();
      for (const sku of names) await engine.setStock(sku, { total, perUserLimit: null, startsAt: null, endsAt: null }, 'bench');
    },
    async reserve(sku, userId, qty) {
      try {
        await engine.reserve({ userId, orderId: 'o', lines: [{ sku, qty }], ttlSeconds: 900, allowPartial: false });
        return true;
      } catch (error) {
        if (error instanceof DomainError && error.code === 'INSUFFICIENT_STOCK') return false;
        throw error;
      }
    },
    async tally() {
      const counters = await maintenance.readCounters(skus);
      const held = counters.reduce((sum, c) => sum + (c?.reserved ?? 0) + (c?.sold ?? 0), 0);
      const available = counters.reduce((sum, c) => sum + (c?.available ?? 0), 0);
      return { held, available };
    },
    async close() {
      redis.disconnect();
    },
  };
}

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ReserveBackend } from './backend';

const LOCK_TTL_MS = 2000;
const MAX_WAIT_MS = 2000;
/** Deletes the lock only if it is still ours, so a holder whose lock expired cannot free the next one's. */
const UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** A Redis SET NX PX lock around a read-modify-write of the counter, with a safe unlock. */
export function redisLockBackend(url: string): ReserveBackend {
  const redis = new Redis(url);
  const stockKey = (sku: string) => `bench:{${sku}}:available`;
  const heldKey = (sku: string) => `bench:{${sku}}:held`;
  const lockKey = (sku: string) => `bench:{${sku}}:lock`;
  let skus: string[] = [];
  return {
    async setup(names, total) {
      skus = names;
      await redis.flushdb();
      for (const sku of names) await redis.set(stockKey(sku), total);
    },
    async reserve(sku, _userId, qty) {
      const token = randomUUID();
      const deadline = Date.now() + MAX_WAIT_MS;
      while ((await redis.set(lockKey(sku), token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
        if (Date.now() > deadline) throw new Error('lock wait timed out');
        await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 3));
      }
      try {
        const available = Number(await redis.get(stockKey(sku)));
        if (available < qty) return false;
        await redis.set(stockKey(sku), available - qty);
        await redis.incrby(heldKey(sku), qty);
        return true;
      } finally {
        await redis.eval(UNLOCK, 1, lockKey(sku), token);
      }
    },
    async tally() {
      let held = 0;
      let available = 0;
      for (const sku of skus) {
        held += Number((await redis.get(heldKey(sku))) ?? 0);
        available += Number(await redis.get(stockKey(sku)));
      }
      return { held, available };
    },
    async close() {
      redis.disconnect();
    },
  };
}

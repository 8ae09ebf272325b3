import type { Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX } from '../../src/config';
import { type DatabaseHandle, openDatabase } from '../../src/db/client';
import { drainOutbox } from '../../src/reconciler/outboxDrain';
import { sweepExpiredHolds } from '../../src/reconciler/expirySweep';
import { connectWithRetry, createRedisClient } from '../../src/redis/connect';
import type { StockEngine } from '../../src/redis/stockEngine';
import { createStockServices } from '../../src/redis/stockServices';
import { startThrowawayPostgres } from '../../tools/throwawayPostgres';
import { startThrowawayRedis } from '../../tools/throwawayRedis';
import { type CpuReading, type CpuTarget, CpuWatch, describeReading, postgresTarget, redisPid } from '../lib/cpu';
import { type Check, type Scenario, check } from '../lib/types';

/** Creates `count` one-unit holds of one SKU, 500 calls in flight at a time; returns the seconds it took. */
async function createHolds(engine: StockEngine, sku: string, count: number, ttlSeconds: number): Promise<number> {
  const started = performance.now();
  const concurrency = 500;
  for (let start = 0; start < count; start += concurrency) {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count - start) }, (_, k) =>
        engine.reserve({ userId: `u-${start + k}`, orderId: 'o', lines: [{ sku, qty: 1 }], ttlSeconds, allowPartial: false }),
      ),
    );
  }
  return (performance.now() - started) / 1000;
}

/** Memory of the data: used_memory less client buffers, which come and go with traffic. */
async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_memory') - field('mem_aof_buffer') - field('mem_clients_normal');
}

export const reconcilerRates: Scenario = {
  name: 'reconciler',
  description: 'Outbox events drained into Postgres per second (real Postgres and PGlite), time to sweep expired holds, and Redis bytes per active hold (from INFO memory).',
  async run(context) {
    const holds = context.quick ? 10_000 : 100_000;
    const [redisServer, postgresServer] = await Promise.all([startThrowawayRedis({ appendonly: true }), startThrowawayPostgres()]);
    const redis = createRedisClient(redisServer.url);
    await connectWithRetry(redis);
    const figures: Record<string, number | string> = { holds };
    let creationSeconds = 1;
    const checks: Check[] = [];
    const databases: DatabaseHandle[] = [];
    const cpu: { label: string; reading: CpuReading }[] = [];
    try {
      const stores: CpuTarget[] = [{ kind: 'process', pid: await redisPid(redis), stage: 'redis', name: 'redis' }, await postgresTarget(postgresServer.url)];
      for (const target of ['postgres', 'pglite'] as const) {
        const database = await openDatabase({ url: target === 'postgres' ? postgresServer.url : undefined, dataDir: 'memory://' });
        databases.push(database);
        const { engine, maintenance } = createStockServices(redis, { keyPrefix: `bench-${target}` });
        await engine.setStock('drain', { total: 10_000_000, perUserLimit: null, startsAt: null, endsAt: null }, 'bench');
        context.progress(`    drain into ${target}: creating ${holds.toLocaleString('en')} holds`);
        creationSeconds = await createHolds(engine, 'drain', holds, 900);
        // The drain runs in this process (and PGlite with it): its CPU is the drain's.
        const watch = new CpuWatch([{ kind: 'self', stage: 'engine', name: target === 'pglite' ? 'drain and PGlite (the bench process)' : 'drain (the bench process)' }, ...(target === 'pglite' ? stores.slice(0, 1) : stores)]);
        const cpuBefore = watch.snapshot();
        const started = performance.now();
        const { written } = await drainOutbox(maintenance.outbox, database.db, { timeBudgetMs: 600_000 });
        const seconds = (performance.now() - started) / 1000;
        const reading = CpuWatch.reading(cpuBefore, watch.snapshot(), written, seconds, 'event');
        cpu.push({ label: `drain into ${target}`, reading });
        context.progress(`    drain into ${target}: ${describeReading(reading)}`);
        figures[`drain ${target} events/s`] = Math.round(written / seconds);
        checks.push(check(`drain into ${target}: every event written once`, written === holds + 1, `${written} events for ${holds} holds + 1 SET`));
        context.progress(`    drain into ${target}: ${(figures[`drain ${target} events/s`] as number).toLocaleString('en')} events/s`);
      }

      // Memory per active hold: holds of one SKU by distinct shoppers, outbox drained and trimmed,
      // on a Redis of its own without AOF (whose buffers and rewrites would blur the figure), with
      // the keys a default engine writes (the prefix is part of every key's size).
      const memoryServer = await startThrowawayRedis();
      const memoryRedis = createRedisClient(memoryServer.url);
      try {
        await connectWithRetry(memoryRedis);
        const { engine, maintenance } = createStockServices(memoryRedis, { keyPrefix: DEFAULT_KEY_PREFIX });
        await engine.setStock('mem', { total: 10_000_000, perUserLimit: null, startsAt: null, endsAt: null }, 'bench');
        await drainOutbox(maintenance.outbox, databases[0].db);
        const before = await usedMemory(memoryRedis);
        await createHolds(engine, 'mem', holds, 3600);
        const withOutbox = await usedMemory(memoryRedis);
        await drainOutbox(maintenance.outbox, databases[0].db, { timeBudgetMs: 600_000 });
        const after = await usedMemory(memoryRedis);
        const bytesPerHold = Math.round((after - before) / holds);
        figures['bytes per hold'] = bytesPerHold;
        figures['bytes per hold, outbox not yet drained'] = Math.round((withOutbox - before) / holds);
        // A target, not an invariant: reported, never failed on.
        figures['bytes per hold: target 300 B met'] = bytesPerHold < 300 ? 'yes' : 'no';
      } finally {
        memoryRedis.disconnect();
        await memoryServer.stop();
      }

      // Sweep: holds that all expire once every one of them exists (a shorter TTL would let the
      // reserves' own lazy sweep return the early ones), then one pass over all SKUs.
      const { engine: sweepEngine, maintenance: sweeper } = createStockServices(redis, { keyPrefix: 'bench-sweep' });
      await sweepEngine.setStock('sweep', { total: 10_000_000, perUserLimit: null, startsAt: null, endsAt: null }, 'bench');
      const ttlSeconds = Math.ceil(creationSeconds * 2) + 1;
      context.progress(`    sweep: creating ${holds.toLocaleString('en')} holds that expire in ${ttlSeconds} s`);
      await createHolds(sweepEngine, 'sweep', holds, ttlSeconds);
      await new Promise((resolve) => setTimeout(resolve, ttlSeconds * 1000 + 200));
      const sweepWatch = new CpuWatch([{ kind: 'self', stage: 'engine', name: 'sweep (the bench process)' }, stores[0]]);
      const sweepBefore = sweepWatch.snapshot();
      const started = performance.now();
      const swept = await sweepExpiredHolds(sweeper);
      figures[`sweep ${holds} expired holds, ms`] = Math.round(performance.now() - started);
      cpu.push({ label: 'sweep of expired holds', reading: CpuWatch.reading(sweepBefore, sweepWatch.snapshot(), swept.units, (performance.now() - started) / 1000, 'hold') });
      const counters = (await sweeper.readCounters(['sweep']))[0]!;
      checks.push(check('sweep returned every expired unit once', swept.units === holds && counters.reserved === 0 && counters.available === 10_000_000, `${swept.units} units returned by the pass; reserved now ${counters.reserved}`));
    } finally {
      redis.disconnect();
      for (const database of databases) await database.close();
      await Promise.all([redisServer.stop(), postgresServer.stop()]);
    }
    return { name: 'reconciler', description: this.description, loads: [], figures, checks, cpu };
  },
};

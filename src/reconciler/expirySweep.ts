import type { StockMaintenance } from '../redis/stockMaintenance';

export interface SweepResult {
  holds: number;
  units: number;
}

/**
 * Returns the units of every hold that has expired, across all SKUs, partition by partition. Only
 * SKUs filed in their partition's sweep-due index with an expiry at or before now are visited, so a pass costs in proportion to
 * the expired holds, never to the size of the keyspace.
 */
export async function sweepExpiredHolds(maintenance: StockMaintenance, options: { skusPerRound?: number; holdsPerCall?: number } = {}): Promise<SweepResult> {
  const skusPerRound = options.skusPerRound ?? 200;
  const holdsPerCall = options.holdsPerCall ?? 2000;
  const now = await maintenance.redisTimeMs();
  const total: SweepResult = { holds: 0, units: 0 };

  const sweepSku = async (sku: string) => {
    for (;;) {
      const result = await maintenance.sweepSku(sku, holdsPerCall);
      total.holds += result.holds;
      total.units += result.units;
      if (result.holds === 0 || result.nextExpiryMs === null || result.nextExpiryMs > now) return;
    }
  };

  for (const partition of maintenance.partitions) {
    for (;;) {
      const due = await maintenance.dueSkus(partition, now, skusPerRound);
      if (!due.length) break;
      await Promise.all(due.map(sweepSku));
    }
  }
  return total;
}

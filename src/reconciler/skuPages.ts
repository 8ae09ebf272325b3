import type { Database } from '../db/client';
import { type SkuRow, pageSkuRows } from '../db/skuRepository';
import type { StockCounters, StockMaintenance } from '../redis/stockMaintenance';

/** Every SKU Postgres knows, a page at a time, with its Redis counters (null where Redis lacks it). */
export async function* skuPages(maintenance: StockMaintenance, db: Database, pageSize: number): AsyncGenerator<{ row: SkuRow; redis: StockCounters | null }[]> {
  let after = '';
  for (;;) {
    const rows = await pageSkuRows(db, after, pageSize);
    if (!rows.length) return;
    after = rows[rows.length - 1].sku;
    const counters = await maintenance.readCounters(rows.map((row) => row.sku));
    yield rows.map((row, n) => ({ row, redis: counters[n] }));
  }
}

import type { Database } from '../db/client';
import { type SkuRow, pageSkuRows } from '../db/skuRows';
import type { StockCounters, StockEngine } from '../redis/stockEngine';

/** Every SKU Postgres knows, a page at a time, with its Redis counters (null where Redis lacks it). */
export async function* skuPages(engine: StockEngine, db: Database, pageSize: number): AsyncGenerator<{ row: SkuRow; redis: StockCounters | null }[]> {
  let after = '';
  for (;;) {
    const rows = await pageSkuRows(db, after, pageSize);
    if (!rows.length) return;
    after = rows[rows.length - 1].sku;
    const counters = await engine.readCounters(rows.map((row) => row.sku));
    yield rows.map((row, n) => ({ row, redis: counters[n] }));
  }
}

import { asc, gt, sql } from 'drizzle-orm';
import type { Database } from './client';
import { skus } from './schema';

export type SkuRow = typeof skus.$inferSelect;

/** All SKU rows in name order, a page at a time (name > after). */
export async function pageSkuRows(db: Database, after: string, limit: number): Promise<SkuRow[]> {
  return db.select().from(skus).where(gt(skus.sku, after)).orderBy(asc(skus.sku)).limit(limit);
}

/** One SKU's row, or undefined when Postgres does not know the SKU. */
export async function findSkuRow(db: Database, sku: string): Promise<SkuRow | undefined> {
  const [row] = await db.select().from(skus).where(sql`${skus.sku} = ${sku}`).limit(1);
  return row;
}

/** Overwrites a SKU row's counters with what Redis holds at `version`. */
export async function writeSkuCounters(db: Database, sku: string, counters: { total: number; available: number; reserved: number; sold: number; version: number }): Promise<void> {
  await db
    .update(skus)
    .set({ ...counters, updatedAt: sql`now()` })
    .where(sql`${skus.sku} = ${sku}`);
}

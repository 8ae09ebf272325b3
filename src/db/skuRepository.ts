import { desc, eq, sql } from 'drizzle-orm';
import type { SkuView } from '../domain/sku';
import type { Database } from './client';
import { skus, stockMovements } from './schema';

/**
 * Writes a SKU's settings and counters as Redis had them at `version`; a row already holding a
 * newer version (the reconciler got there first) is left as it is.
 */
export async function upsertSku(db: Database, view: SkuView, version: number): Promise<void> {
  const row = {
    sku: view.sku,
    total: view.total,
    available: view.available,
    reserved: view.reserved,
    sold: view.sold,
    perUserLimit: view.perUserLimit,
    startsAt: view.startsAt ? new Date(view.startsAt) : null,
    endsAt: view.endsAt ? new Date(view.endsAt) : null,
    version,
  };
  await db
    .insert(skus)
    .values(row)
    .onConflictDoUpdate({ target: skus.sku, set: { ...row, updatedAt: sql`now()` }, setWhere: sql`${skus.version} < ${version}` });
}

export async function listMovements(db: Database, sku: string, limit: number) {
  return db
    .select()
    .from(stockMovements)
    .where(eq(stockMovements.sku, sku))
    .orderBy(desc(stockMovements.at), desc(stockMovements.eventKey))
    .limit(limit);
}

/** SKU names Postgres knows, in name order. */
export async function listSkuNames(db: Database, limit: number): Promise<string[]> {
  const rows = await db.select({ sku: skus.sku }).from(skus).orderBy(skus.sku).limit(limit);
  return rows.map((row) => row.sku);
}

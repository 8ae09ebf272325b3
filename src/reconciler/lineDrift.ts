import { isNewer } from '../domain/changeMark';
import type { Database } from '../db/client';
import { countLineTickets } from '../db/lineTicketRepository';
import type { SkuRow } from '../db/skuRepository';
import type { DriftItem } from '../domain/reconcile';
import type { StockCounters, StockMaintenance } from '../redis/stockMaintenance';

/**
 * Compares each SKU's line counts in Redis (lineWaiting, lineAdmitted) with the tickets Postgres
 * recorded in those states, for SKUs whose changes Postgres has all drained. With `repair`,
 * Redis's counters are rebuilt: waiting from its own line (the sorted set of waiting tickets),
 * admitted from Postgres. A line whose waiting tickets themselves differ from Postgres's (Redis
 * lost or kept tickets the other did not) stays reported, and is listed as not repaired.
 */
export async function checkLineDrift(
  maintenance: StockMaintenance,
  db: Database,
  page: readonly { row: SkuRow; redis: StockCounters | null }[],
  options: { repair: boolean },
): Promise<{ drift: DriftItem[]; notRepaired: string[] }> {
  const result = { drift: [] as DriftItem[], notRepaired: [] as string[] };
  const settled = page.filter((entry): entry is { row: SkuRow; redis: StockCounters } => entry.redis !== null && !isNewer(entry.redis, entry.row));
  if (!settled.length) return result;
  const counts = await countLineTickets(
    db,
    settled.map(({ row }) => row.sku),
  );
  for (const { row, redis } of settled) {
    const { waiting, admitted } = counts.get(row.sku) ?? { waiting: 0, admitted: 0 };
    const found: DriftItem[] = [];
    if (redis.lineWaiting !== waiting) found.push({ sku: row.sku, field: 'lineWaiting', redis: redis.lineWaiting, postgres: waiting, expected: waiting });
    if (redis.lineAdmitted !== admitted) found.push({ sku: row.sku, field: 'lineAdmitted', redis: redis.lineAdmitted, postgres: admitted, expected: admitted });
    result.drift.push(...found);
    if (!found.length || !options.repair) continue;
    const repaired = await maintenance.repairLine(row.sku, redis.version, admitted);
    if (repaired === 'changed' || (repaired !== 'missing' && repaired.lineWaiting !== waiting)) result.notRepaired.push(row.sku);
  }
  return result;
}

import type { Database } from '../db/client';
import { queryAtOnce } from '../db/client';
import {
  type BindingRow,
  type SkuFacts,
  committedBuyersFromRows,
  committedBuyersQuery,
  heldUnitsQuery,
  pageBindings,
  pendingHoldsFromRows,
  pendingHoldsQuery,
  skuFactsFromRows,
  skuTotalsQuery,
} from '../db/factsRepository';
import { type StoredTicket, lineTicketsFromRows, lineTicketsQuery } from '../db/lineTicketRepository';
import { type SkuRow, recordImpliedCommitMovements, stockLevelsFromRows, stockLevelsQuery, writeSkuCounters } from '../db/skuRepository';
import { DEFAULT_LOCATION } from '../domain/reservation';
import { type LocationLevel, sameCounts, sameLevels } from '../domain/sku';
import { combineHoldUnits, encodeHoldUnits } from '../redis/holdUnits';
import type { LocationTotals } from '../redis/stockHash';
import type { RestoreGuard } from '../redis/restoreGuard';
import type { ReservationRestore, StockMaintenance } from '../redis/stockMaintenance';
import { factLevels } from './factLevels';
import { restoredLine } from './lineRestore';
import { skuPages } from './skuPages';

/**
 * Recreates in Redis the given SKUs from what Postgres recorded: settings, totals and sold units
 * as the facts add them up (a row that disagrees is then written to match), and the holds still
 * pending (their reservation records, expiry index entries and per-user counts).
 * Holds that expired while Redis was gone are restored too, without their records: the next
 * sweep returns their units and writes their EXPIRE events, so Postgres sees them end like any
 * other. A reservation spanning partitions comes back whole (its home record, its parts, its
 * spanning entries; holds that only its home ends), so the reconciler ends it as one. A SKU's
 * waiting line comes back in its order (lineRestore.ts), with its ended tickets, and is served
 * (an admitted ticket's hold is one of the pending holds). SKUs Redis still has are left
 * untouched. Postgres is read in one snapshot, and Redis written only under `guard`
 * (src/redis/restoreGuard.ts): gone, the restore stops (`lost`). Returns how many SKUs and holds
 * were restored.
 */
export async function restoreSkus(maintenance: StockMaintenance, db: Database, rows: SkuRow[], guard: RestoreGuard): Promise<SkusRestored> {
  if (!rows.length) return { skus: 0, holds: 0, lost: false };
  const names = rows.map((row) => row.sku);
  // Restored in a begun epoch, so their snapshots reach Postgres (a partition whose epoch key is
  // gone, its other data not, would write snapshots of epoch 0, older than Postgres's rows).
  for (const partition of new Set(names.map((sku) => maintenance.partitionOfSku(sku)))) await maintenance.startEpoch(partition, 'ensure');
  await recordImpliedCommitMovements(db, names);
  const now = await maintenance.redisTimeMs();
  const [facts, pending, committed, levels, tickets] = await readFactsAtOnce(db, names);
  const ticketsOf = new Map<string, StoredTicket[]>();
  for (const ticket of tickets) {
    const list = ticketsOf.get(ticket.sku);
    if (list) list.push(ticket);
    else ticketsOf.set(ticket.sku, [ticket]);
  }

  const byReservation = new Map<string, typeof pending>();
  for (const line of pending) byReservation.set(line.reservationId, [...(byReservation.get(line.reservationId) ?? []), line]);
  const spanning = new Set<string>();
  /** The records to restore, by the SKUs their lines hold. */
  const recordsOf = new Map<string, ReservationRestore[]>();
  for (const [id, lines] of byReservation) {
    const [first] = lines;
    const home = maintenance.partitionOfReservation(id);
    const spans = lines.some((line) => maintenance.partitionOfSku(line.sku) !== home);
    if (spans) spanning.add(id);
    if (!spans && first.expiresAt.getTime() <= now) continue;
    const reservation = {
      id,
      userId: first.userId,
      orderId: first.orderId,
      createdAtMs: first.createdAt.getTime(),
      expiresAtMs: first.expiresAt.getTime(),
      lines: lines.map(({ sku, qty, reserved, allocations }) => ({ sku, qty, reserved, allocations })),
    };
    for (const sku of new Set(lines.map((line) => line.sku))) recordsOf.set(sku, [...(recordsOf.get(sku) ?? []), reservation]);
  }

  const restored: SkuRow[] = [];
  let holds = 0;
  for (const row of rows) {
    // A SKU's hold records just before the SKU (left as they are where present): Redis losing its
    // data again half-way through takes a restored SKU only together with its records, so the
    // next rebuild finds no SKU whose holds lack theirs. Both are written only under the guard.
    const recordsBack = await everyOf(recordsOf.get(row.sku) ?? [], (reservation) => maintenance.restoreReservation(reservation, guard));
    if (!recordsBack) return { skus: restored.length, holds, lost: true };
    const lines = pending.filter((line) => line.sku === row.sku && line.reserved > 0);
    // Bought units always count; held ones only under a limit (lua/includes/addBuyerUnits.lua).
    const buyers = new Map<string, number>();
    if (row.perUserLimit !== null) for (const line of lines) buyers.set(line.userId, (buyers.get(line.userId) ?? 0) + line.reserved);
    for (const [sku, userId, units] of committed) if (sku === row.sku) buyers.set(userId, (buyers.get(userId) ?? 0) + units);
    // One hold member per reservation, however many of its lines hold the SKU (in several locations).
    const byHolder = new Map<string, typeof lines>();
    for (const line of lines) byHolder.set(line.reservationId, [...(byHolder.get(line.reservationId) ?? []), line]);
    const fact = facts.get(row.sku)!;
    // The lobby's shuffle is due once startsAt passed (lua/includes/line.lua, promoteLobby).
    const line = restoredLine(ticketsOf.get(row.sku) ?? [], row.startsAt === null || row.startsAt.getTime() <= now);
    const done = await maintenance.restoreSku({
      sku: row.sku,
      // Totals from the movements, as the drift check judges them, never the row: a row may hold
      // a change whose movement Postgres lacks.
      total: fact.total,
      sold: fact.sold,
      levels: restoredLevels(levels.get(row.sku) ?? [], fact),
      perUserLimit: row.perUserLimit,
      startsAtMs: row.startsAt?.getTime() ?? null,
      endsAtMs: row.endsAt?.getTime() ?? null,
      version: row.version,
      // A spanning reservation's holds end only through its home (score +inf, see spanning.ts).
      holds: [...byHolder].map(([reservationId, [first, ...more]]) => ({
        reservationId,
        userId: first.userId,
        units: encodeHoldUnits(combineHoldUnits([first, ...more].map(({ reserved, allocations }) => ({ units: reserved, allocations })))),
        expiresAtMs: spanning.has(reservationId) ? Infinity : first.expiresAt.getTime(),
      })),
      buyerUnits: [...buyers],
      line: row.lineHoldTtlMs === null ? null : { holdTtlMs: row.lineHoldTtlMs, lobbyMs: row.lineLobbyMs ?? 0 },
      buckets: row.buckets,
      tickets: line.tickets,
      lineUsers: line.users,
      lineGaps: line.gaps,
    }, guard);
    if (done === 'lost') return { skus: restored.length, holds, lost: true };
    if (done === 'restored') {
      restored.push(row);
      holds += lines.length;
    }
  }
  await alignRows(maintenance, db, restored, levels);
  return { skus: restored.length, holds, lost: false };
}

/** What restoreSkus restored; `lost`: it stopped where Redis lost its data again (its guard was gone). */
export interface SkusRestored {
  skus: number;
  holds: number;
  lost: boolean;
}

/** Runs `write` on each item in turn while it answers true; whether all did. */
async function everyOf<T>(items: readonly T[], write: (item: T) => Promise<boolean>): Promise<boolean> {
  for (const item of items) if (!(await write(item))) return false;
  return true;
}

/**
 * What a restore reads of these SKUs, in one snapshot of Postgres (one statement: queryAtOnce).
 * Read statement by statement, a drain committing in between (one in a newer epoch, which the fence
 * lets through) could show a reservation pending to one read and committed to the next: its hold
 * would come back, and its units would count as sold too.
 */
async function readFactsAtOnce(db: Database, names: string[]) {
  const rows = await queryAtOnce(db, {
    totals: skuTotalsQuery(names),
    held: heldUnitsQuery(names),
    pending: pendingHoldsQuery(names),
    buyers: committedBuyersQuery(names),
    levels: stockLevelsQuery(names),
    tickets: lineTicketsQuery(names),
  });
  return [
    skuFactsFromRows(names, rows.totals, rows.held),
    pendingHoldsFromRows(rows.pending),
    committedBuyersFromRows(rows.buyers),
    stockLevelsFromRows(names, rows.levels),
    lineTicketsFromRows(rows.tickets),
  ] as const;
}

/**
 * Writes each restored SKU's row from Redis where they differ (the row held a change whose
 * movement Postgres lacks), unless the drain wrote the row meanwhile.
 */
async function alignRows(maintenance: StockMaintenance, db: Database, rows: SkuRow[], levels: Map<string, LocationLevel[]>): Promise<void> {
  const counters = await maintenance.readCounters(rows.map((row) => row.sku));
  for (const [n, row] of rows.entries()) {
    const redis = counters[n];
    if (!redis || (sameCounts(redis, row) && (!redis.located || sameLevels(redis.locations, levels.get(row.sku) ?? [])))) continue;
    await writeSkuCounters(db, row.sku, redis, { unlessChangedFrom: row });
  }
}

/**
 * A SKU's locations to restore: those of its stock_levels rows, in their order and state, with the
 * totals and sold units of the facts (factLevels.ts); null for a SKU without locations (one
 * "default" row), restored with its plain counters.
 */
function restoredLevels(levels: readonly LocationLevel[], fact: SkuFacts): LocationTotals[] | null {
  if (!levels.length || (levels.length === 1 && levels[0].location === DEFAULT_LOCATION)) return null;
  return factLevels(levels, fact);
}

/**
 * Restores the Idempotency-Key bindings Postgres recorded that Redis would still keep, so a retry
 * with the same key replays its reservation instead of holding stock a second time.
 */
export async function restoreBindings(maintenance: StockMaintenance, db: Database, partitions: Set<number>): Promise<number> {
  const ttlMs = maintenance.idempotencyTtlMs;
  const now = await maintenance.redisTimeMs();
  let restored = 0;
  let after: BindingRow | null = null;
  for (;;) {
    const page = await pageBindings(db, now - ttlMs, after, 1000);
    if (!page.length) return restored;
    after = page[page.length - 1];
    const rows = page.filter(({ userId }) => partitions.has(maintenance.partitionOfUser(userId)));
    await maintenance.restoreBindings(
      rows.map(({ userId, keyHash, reservationId, bodyDigest, createdAtMs }) => ({
        userId,
        binding: { reservationId, keyHash, bodyDigest },
        expiresAtMs: createdAtMs + ttlMs,
      })),
    );
    restored += rows.length;
  }
}

export interface RestoreResult extends SkusRestored {
  bindings: number;
}

/**
 * Cold start: every SKU Postgres knows and Redis lacks (in `partitions`, or in all) is rebuilt
 * before traffic is taken; in the partitions of `bindingsOf` (those that lost all their data),
 * the Idempotency-Key bindings too. `guard`: see restoreGuard.ts; should it go, the restore stops
 * (`lost`), and the rebuild is begun again.
 */
export async function restoreFromPostgres(
  maintenance: StockMaintenance,
  db: Database,
  options: { partitions?: Set<number>; bindingsOf?: Set<number>; guard: RestoreGuard },
): Promise<RestoreResult> {
  const result = { skus: 0, holds: 0, bindings: 0, lost: false };
  const inScope = (sku: string) => !options.partitions || options.partitions.has(maintenance.partitionOfSku(sku));
  for await (const page of skuPages(maintenance, db, 500)) {
    const restored = await restoreSkus(maintenance, db, page.filter(({ row, redis }) => redis === null && inScope(row.sku)).map(({ row }) => row), options.guard);
    result.skus += restored.skus;
    result.holds += restored.holds;
    if (restored.lost) return { ...result, lost: true };
  }
  if (options.bindingsOf?.size) result.bindings = await restoreBindings(maintenance, db, options.bindingsOf);
  return result;
}

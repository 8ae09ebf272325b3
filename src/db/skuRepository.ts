import { type SQL, asc, desc, gt, sql } from 'drizzle-orm';
import { BUCKET_SEPARATOR } from '../domain/buckets';
import type { SkuMovementType } from '../domain/movements';
import type { ChangeMark } from '../domain/changeMark';
import type { LocationLevel } from '../domain/sku';
import { type Database, type StatementRunner, queryRows } from './client';
import { DEFAULT_LOCATION } from '../domain/reservation';
import { type OnExisting, fromEpochMs, jsonRows, onExisting } from './jsonRows';
import { skus, stockMovements } from './schema';

/**
 * The one writer of the `skus`, `stock_levels` and `stock_movements` tables: the drain's snapshots
 * and movements (the admin API's and moves' too, written ahead of it: factsAhead.ts), the drift
 * repair, the rebuild's implied commits.
 */

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

/**
 * Overwrites a SKU row's counters, and its locations', with what Redis holds at its epoch and
 * version: the drift repair's, once Redis agrees with the facts (so no check of them is due), and
 * the rebuild's, which passes `unlessChangedFrom`: the row's mark when it read it, so that a
 * snapshot the drain wrote meanwhile is kept.
 */
export async function writeSkuCounters(
  db: Database,
  sku: string,
  counters: ChangeMark & { total: number; available: number; reserved: number; sold: number; locations: LocationLevel[] },
  { unlessChangedFrom }: { unlessChangedFrom?: ChangeMark } = {},
): Promise<void> {
  const { total, available, reserved, sold, version, epoch, locations } = counters;
  const unchanged = unlessChangedFrom ? sql` and (${skus.epoch}, ${skus.version}) = (${unlessChangedFrom.epoch}, ${unlessChangedFrom.version})` : sql``;
  const written = await db
    .update(skus)
    .set({ total, available, reserved, sold, version, epoch, factsDue: false, updatedAt: sql`now()` })
    .where(sql`${skus.sku} = ${sku}${unchanged}`)
    .returning({ sku: skus.sku });
  if (written.length) await replaceStockLevels(db, levelRows(sku, locations, { version, epoch }), { force: true });
}

/** A SKU's locations as `stock_levels` rows at `mark`. */
export function levelRows(sku: string, locations: readonly LocationLevel[], mark: ChangeMark): StockLevelRow[] {
  return locations.map((level, position) => ({ sku, ...level, position, version: mark.version, epoch: mark.epoch }));
}

/** One SKU's locations of that row's table: its counters at its epoch and version, in `position` order. */
export interface StockLevelRow extends LocationLevel, ChangeMark {
  sku: string;
  position: number;
}

/**
 * Writes each SKU's locations as they stood at their epoch and version: every listed location, and
 * the SKU's other rows (a location dropped since) deleted. A SKU whose rows are newer (a later
 * epoch, or a later version of the same one) is left alone, unless `force` (a repair writing what
 * Redis holds now).
 */
export async function replaceStockLevels(tx: StatementRunner, rows: StockLevelRow[], { force = false } = {}): Promise<void> {
  if (!rows.length) return;
  const newer = force ? sql`true` : sql`(stock_levels.epoch, stock_levels.version) < (excluded.epoch, excluded.version)`;
  // Nor is a location added back by an older snapshot: one the SKU dropped since.
  const noNewerRow = force ? sql`true` : sql`not exists (select 1 from stock_levels s where s.sku = x.sku and (s.epoch, s.version) > (x.epoch, x.version))`;
  await tx.execute(sql`
    insert into stock_levels (sku, location, position, active, total, available, reserved, sold, version, epoch)
    select sku, location, position, active, total, available, reserved, sold, version, epoch
    from json_to_recordset(${jsonRows(rows)}) as x(sku text, location text, position int, active boolean, total int, available int,
      reserved int, sold int, version bigint, epoch bigint)
    where ${noNewerRow}
    on conflict (sku, location) do update set position = excluded.position, active = excluded.active, total = excluded.total,
      available = excluded.available, reserved = excluded.reserved, sold = excluded.sold, version = excluded.version,
      epoch = excluded.epoch, updated_at = now()
    where ${newer}`);
  const listed = rows.map(({ sku, location, version, epoch }) => ({ sku, location, version, epoch }));
  await tx.execute(sql`
    delete from stock_levels s
    using (select distinct sku, version, epoch from json_to_recordset(${jsonRows(listed)}) as x(sku text, location text, version bigint, epoch bigint)) v
    where s.sku = v.sku and (s.epoch, s.version) <= (v.epoch, v.version)
      and (s.sku, s.location) not in (select sku, location from json_to_recordset(${jsonRows(listed)}) as y(sku text, location text))`);
}

/** The locations of the given SKUs. */
export function stockLevelsQuery(skuNames: readonly string[]): SQL {
  return sql`
    select sku, location, active, total, available, reserved, sold, position from stock_levels
    where sku in (select jsonb_array_elements_text(${JSON.stringify(skuNames)}::jsonb))`;
}

/** Each SKU's locations from the rows of stockLevelsQuery, in position order. */
export function stockLevelsFromRows(skuNames: readonly string[], rows: Record<string, unknown>[]): Map<string, LocationLevel[]> {
  const levels = new Map<string, LocationLevel[]>(skuNames.map((sku) => [sku, []]));
  const sorted = [...rows].sort((a, b) => Number(a.position) - Number(b.position));
  for (const row of sorted) {
    levels.get(String(row.sku))?.push({
      location: String(row.location),
      active: Boolean(row.active),
      total: Number(row.total),
      available: Number(row.available),
      reserved: Number(row.reserved),
      sold: Number(row.sold),
    });
  }
  return levels;
}

/** Each SKU's locations, in position order. */
export async function loadStockLevels(db: Database, skuNames: readonly string[]): Promise<Map<string, LocationLevel[]>> {
  if (!skuNames.length) return stockLevelsFromRows(skuNames, []);
  return stockLevelsFromRows(skuNames, await queryRows<Record<string, unknown>>(db, stockLevelsQuery(skuNames)));
}

/** The reason an implied COMMIT movement carries (see recordImpliedCommitMovements). */
export const IMPLIED_COMMIT_REASON = 'recorded from the committed reservation: its COMMIT event was lost with Redis data';

/**
 * Writes the COMMIT movement of every committed line of these SKUs that has none. A commit of a
 * reservation spanning partitions writes one outbox entry per partition; when Redis loses its
 * data between the drain of one and of another, Postgres holds the reservation COMMITTED (its
 * units count as sold) without the other line's movement. The rebuild fills the audit trail from
 * the committed lines, one movement per location, keyed so that writing it twice adds nothing.
 * Answers how many it wrote.
 */
export async function recordImpliedCommitMovements(db: Database, skuNames: readonly string[]): Promise<number> {
  if (!skuNames.length) return 0;
  const rows = await queryRows<{ event_key: string }>(
    db,
    sql`
    insert into stock_movements (event_key, sku, location, type, qty, reason, actor, reservation_id, at)
    select 'implied:' || r.id || ':' || i.line_no || '@' || l.location, i.sku, l.location, 'COMMIT', l.units, ${IMPLIED_COMMIT_REASON},
      null, r.id, coalesce(r.committed_at, r.updated_at)
    from reservations r join reservation_items i on i.reservation_id = r.id
      cross join lateral (
        select coalesce(a.value->>'location', ${DEFAULT_LOCATION}) as location, coalesce((a.value->>'reserved')::int, i.reserved) as units
        from (select null) one left join lateral jsonb_array_elements(i.allocations) a on true) l
    where r.status = 'COMMITTED' and i.reserved > 0 and l.units > 0
      and i.sku in (select jsonb_array_elements_text(${JSON.stringify(skuNames)}::jsonb))
      and not exists (
        select 1 from stock_movements m
        where m.reservation_id = r.id and m.sku = i.sku and m.location = l.location and m.type = 'COMMIT')
    on conflict (event_key) do nothing
    returning event_key`,
  );
  return rows.length;
}

/** A stock movement as the drain writes it (`at` in epoch milliseconds). */
export interface MovementRow {
  event_key: string;
  sku: string;
  location: string;
  type: string;
  qty: number;
  reason: string | null;
  actor: string | null;
  reservation_id: string | null;
  at: number;
}

/** Records movements; one recorded already (same event key) stays as it is, or fails the statement (see OnExisting). */
export async function insertMovements(tx: StatementRunner, rows: MovementRow[], existing: OnExisting = 'skip'): Promise<void> {
  await tx.execute(sql`
    insert into stock_movements (event_key, sku, location, type, qty, reason, actor, reservation_id, at)
    select event_key, sku, location, type, qty, reason, actor, reservation_id, ${fromEpochMs(sql`at`)}
    from json_to_recordset(${jsonRows(rows)}) as x(event_key text, sku text, location text, type text, qty int, reason text,
      actor text, reservation_id text, at bigint)
    ${onExisting(existing)}`);
}

/**
 * A SKU's movements, newest first: a split SKU's are its buckets' (src/domain/buckets.ts), but for
 * the moves between them, which change none of the SKU's counters.
 */
export async function listMovements(db: Database, sku: string, limit: number) {
  const ofBucket = sql`left(${stockMovements.sku}, ${sku.length + 1}) = ${sku + BUCKET_SEPARATOR}`;
  const rows = await db
    .select()
    .from(stockMovements)
    .where(sql`(${stockMovements.sku} = ${sku} or ${ofBucket}) and ${stockMovements.type} <> 'MOVE'`)
    .orderBy(desc(stockMovements.at), desc(stockMovements.eventKey))
    .limit(limit);
  return rows as (MovementRowRead & { type: SkuMovementType })[];
}

type MovementRowRead = typeof stockMovements.$inferSelect;

/** A SKU's own row, not one of its buckets' (src/domain/buckets.ts): what public lists show. */
const ownRow = sql`strpos(${skus.sku}, ${BUCKET_SEPARATOR}) = 0`;

/**
 * A page of the SKU names Postgres knows (their own, not their buckets'), in name order after
 * `after`, those containing `contains` (case-insensitive) when given.
 */
export async function pageSkuNames(db: Database, options: { after: string; limit: number; contains?: string }): Promise<string[]> {
  const pattern = options.contains === undefined ? undefined : `%${options.contains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await db
    .select({ sku: skus.sku })
    .from(skus)
    .where(pattern === undefined ? sql`${skus.sku} > ${options.after} and ${ownRow}` : sql`${skus.sku} > ${options.after} and ${skus.sku} ilike ${pattern} and ${ownRow}`)
    .orderBy(asc(skus.sku))
    .limit(options.limit);
  return rows.map((row) => row.sku);
}

/** SKU names Postgres knows (their own, not their buckets'), in name order. */
export async function listSkuNames(db: Database, limit: number): Promise<string[]> {
  const rows = await db.select({ sku: skus.sku }).from(skus).where(ownRow).orderBy(skus.sku).limit(limit);
  return rows.map((row) => row.sku);
}

/** A statement runner: the database, or a transaction of it. */

export interface SkuSettingsRow extends ChangeMark {
  sku: string;
  per_user_limit: number | null;
  starts_at: number | null;
  ends_at: number | null;
  /** The waiting line's settings (ms); null for a SKU without a line. */
  line_hold_ttl_ms: number | null;
  line_lobby_ms: number | null;
  buckets: number;
  total: number;
  available: number;
  reserved: number;
  sold: number;
}

export interface SkuSnapshotRow extends ChangeMark {
  sku: string;
  total: number;
  available: number;
  reserved: number;
  sold: number;
}

/** The drain's SET events: creates missing rows, updates settings (the line's too) unless a newer epoch and version is there. */
export async function applySkuSettings(tx: StatementRunner, rows: SkuSettingsRow[]): Promise<void> {
  await tx.execute(sql`
    insert into skus (sku, total, available, reserved, sold, per_user_limit, starts_at, ends_at, line_hold_ttl_ms, line_lobby_ms, buckets, version, epoch)
    select sku, total, available, reserved, sold, per_user_limit, ${fromEpochMs(sql`starts_at`)}, ${fromEpochMs(sql`ends_at`)},
      line_hold_ttl_ms, line_lobby_ms, buckets, version, epoch
    from json_to_recordset(${jsonRows(rows)}) as x(sku text, total int, available int, reserved int, sold int,
      per_user_limit int, starts_at bigint, ends_at bigint, line_hold_ttl_ms int, line_lobby_ms int, buckets int, version bigint, epoch bigint)
    on conflict (sku) do update set
      per_user_limit = excluded.per_user_limit, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
      line_hold_ttl_ms = excluded.line_hold_ttl_ms, line_lobby_ms = excluded.line_lobby_ms, buckets = excluded.buckets, updated_at = now()
    where (skus.epoch, skus.version) <= (excluded.epoch, excluded.version)`);
}

/**
 * The drain's counter snapshots: an older snapshot (an earlier epoch, or an earlier version of the
 * same one) never overwrites a newer one. One of a newer epoch over a row of an earlier epoch
 * (not the first, 0) marks the facts due for a check: the new master may lack changes the row had.
 */
export async function applySkuSnapshots(tx: StatementRunner, rows: SkuSnapshotRow[]): Promise<void> {
  await tx.execute(sql`
    update skus s set total = x.total, available = x.available, reserved = x.reserved, sold = x.sold,
      version = x.version, epoch = x.epoch, facts_due = s.facts_due or (s.epoch <> 0 and s.epoch < x.epoch), updated_at = now()
    from json_to_recordset(${jsonRows(rows)}) as x(sku text, total int, available int, reserved int, sold int, version bigint, epoch bigint)
    where s.sku = x.sku and (s.epoch, s.version) < (x.epoch, x.version)`);
}

/** Clears the facts check of SKUs the drift check found agreeing with their facts, unless a newer epoch reached their row since. */
export async function clearFactsDue(db: Database, rows: readonly { sku: string; epoch: number }[]): Promise<void> {
  if (!rows.length) return;
  await db.execute(sql`
    update skus s set facts_due = false
    from json_to_recordset(${jsonRows(rows)}) as x(sku text, epoch bigint)
    where s.sku = x.sku and s.epoch = x.epoch and s.facts_due`);
}

/**
 * The split SKUs among `names` (their own names, src/domain/buckets.ts) with their buckets' rows
 * summed: the SKU as Postgres holds it. The version is the sum of the buckets' (any bucket's change
 * moves it on), the epoch the latest of theirs.
 */
export async function sumSplitSkus(tx: StatementRunner, names: readonly string[]): Promise<SkuSnapshotRow[]> {
  if (!names.length) return [];
  const rows = await queryRows<Record<keyof SkuSnapshotRow, string>>(tx, sql`
    select s.sku, sum(b.total) as total, sum(b.available) as available, sum(b.reserved) as reserved, sum(b.sold) as sold,
      sum(b.version) as version, max(b.epoch) as epoch
    from skus s join skus b on b.sku = s.sku or left(b.sku, length(s.sku) + 1) = s.sku || ${BUCKET_SEPARATOR}
    where s.buckets > 1 and s.sku in (select json_array_elements_text(${jsonRows(names)}))
    group by s.sku`);
  return rows.map((row) => ({ sku: row.sku, total: Number(row.total), available: Number(row.available), reserved: Number(row.reserved), sold: Number(row.sold), version: Number(row.version), epoch: Number(row.epoch) }));
}

/**
 * The locations of split SKUs (src/domain/buckets.ts), each one's counters the sum of its
 * buckets' rows, in the SKU's order: active ones first, by the position their buckets give them.
 * Unsplit SKUs among `names` are left out.
 */
export async function sumSplitLevels(tx: StatementRunner, names: readonly string[]): Promise<Omit<StockLevelRow, keyof ChangeMark>[]> {
  if (!names.length) return [];
  const rows = await queryRows<{ sku: string; location: string; active: boolean; position: string; total: string; available: string; reserved: string; sold: string }>(tx, sql`
    select s.sku, l.location, bool_or(l.active) as active, min(l.position) as position,
      sum(l.total) as total, sum(l.available) as available, sum(l.reserved) as reserved, sum(l.sold) as sold
    from skus s join stock_levels l on l.sku = s.sku or left(l.sku, length(s.sku) + 1) = s.sku || ${BUCKET_SEPARATOR}
    where s.buckets > 1 and s.sku in (select json_array_elements_text(${jsonRows(names)}))
    group by s.sku, l.location
    order by s.sku, bool_or(l.active) desc, min(l.position), l.location`);
  return rows.map((row) => ({
    sku: row.sku,
    location: row.location,
    active: row.active,
    position: Number(row.position),
    total: Number(row.total),
    available: Number(row.available),
    reserved: Number(row.reserved),
    sold: Number(row.sold),
  }));
}

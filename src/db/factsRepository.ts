import { type SQL, and, asc, gt, inArray, lt, sql } from 'drizzle-orm';
import { type Database, type StatementRunner, queryAtOnce } from './client';
import { fromEpochMs, jsonRows } from './jsonRows';
import { idempotencyKeys } from './schema';
import { type Allocation, DEFAULT_LOCATION } from '../domain/reservation';

/** What Postgres's own records say of a SKU, or of one of its locations: the facts drift is judged against. */
export interface LevelFacts {
  /** Sum of every SET, ADJUST and MOVE movement (a bucket's total changes when units move, src/domain/buckets.ts). */
  total: number;
  /** Units of committed reservations. */
  sold: number;
  /** Units of reservations still pending. */
  reserved: number;
}

export interface SkuFacts extends LevelFacts {
  /** The same per location ("default" for movements and holds of a SKU without locations). */
  locations: Map<string, LevelFacts>;
}

/** Sums of every SET, ADJUST and MOVE movement of the given SKUs, by location. */
export function skuTotalsQuery(skus: string[]): SQL {
  return sql`
    select sku, location, coalesce(sum(qty), 0)::bigint as total from stock_movements
    where type in ('SET', 'ADJUST', 'MOVE') and sku in (select jsonb_array_elements_text(${JSON.stringify(skus)}::jsonb))
    group by sku, location`;
}

/** Units of pending and of committed reservations of the given SKUs, by location. */
export function heldUnitsQuery(skus: string[]): SQL {
  // A line's units are held where its allocations say; a line without them, in "default".
  return sql`
    select i.sku, coalesce(a.value->>'location', ${DEFAULT_LOCATION}) as location, r.status,
      coalesce(sum(coalesce((a.value->>'reserved')::int, i.reserved)), 0)::bigint as units
    from reservation_items i join reservations r on r.id = i.reservation_id
      left join lateral jsonb_array_elements(i.allocations) a on true
    where r.status in ('PENDING', 'COMMITTED') and i.sku in (select jsonb_array_elements_text(${JSON.stringify(skus)}::jsonb))
    group by 1, 2, 3`;
}

/** The facts of `skus` from the rows of skuTotalsQuery and heldUnitsQuery; a SKU without any record reads all zeros. */
export function skuFactsFromRows(skus: string[], totals: Record<string, unknown>[], held: Record<string, unknown>[]): Map<string, SkuFacts> {
  const facts = new Map<string, SkuFacts>(skus.map((sku) => [sku, { total: 0, sold: 0, reserved: 0, locations: new Map() }]));
  const at = (sku: string, location: string) => {
    const entry = facts.get(sku)!;
    const level = entry.locations.get(location) ?? entry.locations.set(location, { total: 0, sold: 0, reserved: 0 }).get(location)!;
    return { entry, level };
  };
  for (const row of totals) {
    const { entry, level } = at(String(row.sku), String(row.location));
    level.total = Number(row.total);
    entry.total += level.total;
  }
  for (const row of held) {
    const { entry, level } = at(String(row.sku), String(row.location));
    const field = row.status === 'COMMITTED' ? 'sold' : 'reserved';
    level[field] = Number(row.units);
    entry[field] += level[field];
  }
  return facts;
}

/** Facts of the given SKUs; a SKU without any record reads all zeros. */
export async function loadSkuFacts(db: Database, skus: string[]): Promise<Map<string, SkuFacts>> {
  if (!skus.length) return skuFactsFromRows(skus, [], []);
  const { totals, held } = await queryAtOnce(db, { totals: skuTotalsQuery(skus), held: heldUnitsQuery(skus) });
  return skuFactsFromRows(skus, totals, held);
}

export interface PendingHoldRow {
  reservationId: string;
  userId: string;
  orderId: string | null;
  createdAt: Date;
  expiresAt: Date;
  sku: string;
  lineNo: number;
  qty: number;
  reserved: number;
  /** Null on a SKU without locations. */
  allocations: Allocation[] | null;
}

/** Lines of reservations Postgres still has as pending (expired or not) that hold any of the given SKUs. */
export function pendingHoldsQuery(skus: string[]): SQL {
  return sql`
    select r.id, r.user_id, r.order_id, r.created_at, r.expires_at, i.sku, i.line_no, i.qty, i.reserved, i.allocations
    from reservations r join reservation_items i on i.reservation_id = r.id
    where r.status = 'PENDING'
      and r.id in (select reservation_id from reservation_items
                   where sku in (select jsonb_array_elements_text(${JSON.stringify(skus)}::jsonb)))`;
}

/** The rows of pendingHoldsQuery, by reservation and line. */
export function pendingHoldsFromRows(rows: Record<string, unknown>[]): PendingHoldRow[] {
  return rows
    .map((row) => ({
      reservationId: String(row.id),
      userId: String(row.user_id),
      orderId: row.order_id === null ? null : String(row.order_id),
      createdAt: new Date(row.created_at as string),
      expiresAt: new Date(row.expires_at as string),
      sku: String(row.sku),
      lineNo: Number(row.line_no),
      qty: Number(row.qty),
      reserved: Number(row.reserved),
      allocations: (row.allocations as Allocation[] | null) ?? null,
    }))
    .sort((a, b) => (a.reservationId < b.reservationId ? -1 : a.reservationId > b.reservationId ? 1 : a.lineNo - b.lineNo));
}

/** Units each user bought (committed) of the given SKUs. */
export function committedBuyersQuery(skus: string[]): SQL {
  return sql`
    select i.sku, r.user_id, sum(i.reserved)::bigint as units
    from reservations r join reservation_items i on i.reservation_id = r.id
    where r.status = 'COMMITTED' and i.sku in (select jsonb_array_elements_text(${JSON.stringify(skus)}::jsonb))
    group by i.sku, r.user_id`;
}

/** The rows of committedBuyersQuery: [sku, userId, units]. */
export function committedBuyersFromRows(rows: Record<string, unknown>[]): [string, string, number][] {
  return rows.map((row) => [String(row.sku), String(row.user_id), Number(row.units)]);
}

export interface BindingRow {
  userId: string;
  keyHash: string;
  reservationId: string;
  bodyDigest: string;
  createdAtMs: number;
}

/** Idempotency-Key bindings made after `sinceMs`, a page at a time in (user, key) order after `after`. */
export async function pageBindings(db: Database, sinceMs: number, after: { userId: string; keyHash: string } | null, limit: number): Promise<BindingRow[]> {
  const from = after ?? { userId: '', keyHash: '' };
  const rows = await db
    .select()
    .from(idempotencyKeys)
    .where(and(gt(idempotencyKeys.createdAt, new Date(sinceMs)), sql`(${idempotencyKeys.userId}, ${idempotencyKeys.keyHash}) > (${from.userId}, ${from.keyHash})`))
    .orderBy(asc(idempotencyKeys.userId), asc(idempotencyKeys.keyHash))
    .limit(limit);
  return rows.map((row) => ({ userId: row.userId, keyHash: row.keyHash, reservationId: row.reservationId, bodyDigest: row.fingerprint, createdAtMs: row.createdAt.getTime() }));
}

/** Forgets bindings made before `beforeMs` (Redis dropped them by then too). */
export async function deleteBindingsBefore(db: Database, beforeMs: number): Promise<void> {
  await db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, new Date(beforeMs)));
}

/** An Idempotency-Key binding as the drain writes it (created_at in epoch milliseconds). */
export interface NewBindingRow {
  user_id: string;
  key_hash: string;
  reservation_id: string;
  fingerprint: string;
  created_at: number;
}

/** Records bindings; one recorded already for the same user and key stays as it is. */
export async function insertBindings(tx: StatementRunner, rows: NewBindingRow[]): Promise<void> {
  await tx.execute(sql`
    insert into idempotency_keys (user_id, key_hash, reservation_id, fingerprint, created_at)
    select user_id, key_hash, reservation_id, fingerprint, ${fromEpochMs(sql`created_at`)}
    from json_to_recordset(${jsonRows(rows)}) as x(user_id text, key_hash text, reservation_id text, fingerprint text, created_at bigint)
    on conflict do nothing`);
}

/** Forgets the bindings of these reservations (their reserve was undone). */
export async function deleteBindingsOf(tx: Pick<Database, 'delete'>, reservationIds: string[]): Promise<void> {
  await tx.delete(idempotencyKeys).where(inArray(idempotencyKeys.reservationId, sql`(select json_array_elements_text(${jsonRows(reservationIds)}))`));
}

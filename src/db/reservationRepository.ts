import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { type Allocation, type FinalStatus, type Reservation, readStatus, toLine } from '../domain/reservation';
import { type Database, queryRows } from './client';
import { type OnExisting, fromEpochMs, jsonRows, onExisting } from './jsonRows';
import { reservationItems, reservations } from './schema';

/** A statement runner that reads: the database, or a transaction of it. */
type Reader = Pick<Database, 'select'>;

/** A statement runner that writes: the database, or a transaction of it. */
type Writer = Pick<Database, 'execute' | 'update'>;

/**
 * A reservation as Postgres recorded it. Given `nowMs`, as a reader sees it (a pending one past its
 * expiry reads EXPIRED); without, its status as stored.
 */
export async function findReservation(db: Reader, id: string, nowMs?: number): Promise<Reservation | null> {
  return (await findReservations(db, [id], nowMs)).get(id) ?? null;
}

/** Several reservations as Postgres recorded them (see findReservation), by id; unknown ids are left out. */
export async function findReservations(db: Reader, ids: readonly string[], nowMs?: number): Promise<Map<string, Reservation>> {
  const found = new Map<string, Reservation>();
  if (!ids.length) return found;
  const rows = await db.select().from(reservations).where(inArray(reservations.id, [...ids]));
  if (!rows.length) return found;
  const items = await db
    .select()
    .from(reservationItems)
    .where(inArray(reservationItems.reservationId, rows.map((row) => row.id)))
    .orderBy(asc(reservationItems.reservationId), asc(reservationItems.lineNo));
  for (const row of rows) {
    found.set(row.id, {
      id: row.id,
      status: nowMs === undefined ? row.status : readStatus(row.status, row.expiresAt.getTime(), nowMs),
      userId: row.userId,
      orderId: row.orderId,
      items: items.filter((item) => item.reservationId === row.id).map((item) => toLine(item.sku, item.qty, item.reserved, item.allocations ?? null)),
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
    });
  }
  return found;
}

/** A reservation as the drain writes it, pending. Times are epoch milliseconds (Redis time). */
export interface NewReservationRow {
  id: string;
  user_id: string;
  order_id: string | null;
  created_at: number;
  expires_at: number;
}

/** One line of a reservation, as the drain writes it. */
export interface ReservationItemRow {
  reservation_id: string;
  sku: string;
  line_no: number;
  qty: number;
  reserved: number;
  /** Null on a SKU without locations. */
  allocations: Allocation[] | null;
}

/** A reservation's new expiry (epoch milliseconds). */
export interface ReservationExtensionRow {
  id: string;
  expires_at: number;
}

/** A reservation ending: its terminal state and when (epoch milliseconds). */
export interface ReservationFinishRow {
  id: string;
  status: FinalStatus;
  at: number;
}

/** Inserts reservations as pending (one recorded already: see OnExisting); answers the ids it inserted. */
export async function insertReservations(tx: Writer, rows: NewReservationRow[], existing: OnExisting = 'skip'): Promise<string[]> {
  const inserted = await queryRows<{ id: string }>(tx, sql`
    insert into reservations (id, user_id, order_id, status, created_at, expires_at)
    select id, user_id, order_id, 'PENDING', ${fromEpochMs(sql`created_at`)}, ${fromEpochMs(sql`expires_at`)}
    from json_to_recordset(${jsonRows(rows)}) as x(id text, user_id text, order_id text, created_at bigint, expires_at bigint)
    ${onExisting(existing)}
    returning id`);
  return inserted.map((row) => row.id);
}

/** Inserts reservation lines (a line is known by its reservation and position; one recorded already: see OnExisting). */
export async function insertReservationItems(tx: Writer, rows: ReservationItemRow[], existing: OnExisting = 'skip'): Promise<void> {
  await tx.execute(sql`
    insert into reservation_items (reservation_id, sku, line_no, qty, reserved, allocations)
    select reservation_id, sku, line_no, qty, reserved, allocations
    from json_to_recordset(${jsonRows(rows)}) as x(reservation_id text, sku text, line_no int, qty int, reserved int, allocations jsonb)
    ${onExisting(existing)}`);
}

/** Moves the expiry of the reservations still pending; one that ended already keeps its own. */
export async function extendReservations(tx: Writer, rows: ReservationExtensionRow[]): Promise<void> {
  await tx
    .update(reservations)
    .set({ expiresAt: fromEpochMs(sql`x.expires_at`), updatedAt: sql`now()` })
    .from(sql`json_to_recordset(${jsonRows(rows)}) as x(id text, expires_at bigint)`)
    .where(and(eq(reservations.id, sql`x.id`), eq(reservations.status, 'PENDING')));
}

/**
 * Ends reservations: only a pending one moves, so the first terminal state recorded is the one
 * that stays; a reservation named twice takes its earliest. Answers those it moved, each with the
 * time it ended (epoch milliseconds).
 */
export async function finishReservations(tx: Writer, rows: ReservationFinishRow[]): Promise<{ id: string; status: FinalStatus; atMs: number }[]> {
  const earliest = sql`(select distinct on (id) id, status, ${fromEpochMs(sql`at`)} as at
    from json_to_recordset(${jsonRows(rows)}) as f(id text, status text, at bigint)
    order by id, f.at) as x`;
  const moved = await tx
    .update(reservations)
    .set({
      status: sql`x.status`,
      committedAt: sql`case when x.status = 'COMMITTED' then x.at else ${reservations.committedAt} end`,
      releasedAt: sql`case when x.status <> 'COMMITTED' then x.at else ${reservations.releasedAt} end`,
      updatedAt: sql`now()`,
    })
    .from(earliest)
    .where(and(eq(reservations.id, sql`x.id`), eq(reservations.status, 'PENDING')))
    .returning({ id: reservations.id, status: reservations.status, atMs: sql<number>`(extract(epoch from x.at) * 1000)::float8` });
  return moved.map(({ id, status, atMs }) => ({ id, status: status as FinalStatus, atMs: Number(atMs) }));
}

import { asc, inArray } from 'drizzle-orm';
import { type Reservation, readStatus, toLine } from '../domain/reservation';
import type { Database } from './client';
import { reservationItems, reservations } from './schema';

/** A statement runner that reads: the database, or a transaction of it. */
type Reader = Pick<Database, 'select'>;

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

import { asc, eq } from 'drizzle-orm';
import { type Reservation, readStatus, toLine } from '../domain/reservation';
import type { Database } from './client';
import { reservationItems, reservations } from './schema';

/**
 * A reservation as Postgres recorded it. Given `nowMs`, as a reader sees it (a pending one past its
 * expiry reads EXPIRED); without, its status as stored.
 */
export async function findReservation(db: Database, id: string, nowMs?: number): Promise<Reservation | null> {
  const [row] = await db.select().from(reservations).where(eq(reservations.id, id)).limit(1);
  if (!row) return null;
  const items = await db.select().from(reservationItems).where(eq(reservationItems.reservationId, id))
    .orderBy(asc(reservationItems.lineNo));
  return {
    id: row.id,
    status: nowMs === undefined ? row.status : readStatus(row.status, row.expiresAt.getTime(), nowMs),
    userId: row.userId,
    orderId: row.orderId,
    items: items.map((item) => toLine(item.sku, item.qty, item.reserved, item.allocations ?? null)),
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}

import { type SQL, sql } from 'drizzle-orm';
import type { Ticket, TicketStatus } from '../domain/line';
import { type Database, type StatementRunner, queryRows } from './client';
import { fromEpochMs, jsonRows } from './jsonRows';

/**
 * The one writer of `line_tickets` (the drain's ticket events and line removals), and its reads: the tickets a
 * rebuild puts back in their lines, the counts the drift check compares with Redis's.
 */

/** A ticket as one event left it, as the drain writes it. Times are epoch milliseconds (Redis time). */
export interface LineTicketRow {
  id: string;
  sku: string;
  user_id: string;
  qty: number;
  order_id: string | null;
  status: TicketStatus;
  place: number;
  lobby: boolean;
  joined_at: number;
  /** When the event happened: the admission or the end; the join for a WAITING ticket. */
  at: number;
}

/** A statement runner: the database, or a transaction of it. */

/**
 * Records tickets. A ticket moves only from WAITING to a later state, so the first later state
 * recorded stays, and an entry written twice (or a JOIN arriving after its ADMIT) changes nothing.
 * Rows must name each ticket once.
 */
export async function upsertLineTickets(tx: StatementRunner, rows: LineTicketRow[]): Promise<void> {
  await tx.execute(sql`
    insert into line_tickets (id, sku, user_id, qty, order_id, status, place, lobby, joined_at, admitted_at, ended_at, reservation_id)
    select id, sku, user_id, qty, order_id, status, place, lobby, ${fromEpochMs(sql`joined_at`)},
      case when status = 'ADMITTED' then ${fromEpochMs(sql`at`)} end,
      case when status not in ('WAITING', 'ADMITTED') then ${fromEpochMs(sql`at`)} end,
      case when status = 'ADMITTED' then id end
    from json_to_recordset(${jsonRows(rows)}) as x(id text, sku text, user_id text, qty int, order_id text, status text, place float8,
      lobby boolean, joined_at bigint, at bigint)
    on conflict (id) do update set status = excluded.status, place = excluded.place, admitted_at = excluded.admitted_at,
      ended_at = excluded.ended_at, reservation_id = excluded.reservation_id, updated_at = now()
    where line_tickets.status = 'WAITING' and excluded.status <> 'WAITING'`);
}

/** A SKU's line was removed at `at` (epoch milliseconds, Redis time): a `SET` event without a line. */
export interface LineRemovalRow {
  sku: string;
  at: number;
}

/**
 * Frees the users of the tickets that joined a line before it was removed (Redis forgets them
 * then, lua/set_stock.lua): a line set again starts afresh. Writing it twice changes nothing.
 */
export async function markLinesRemoved(tx: StatementRunner, rows: LineRemovalRow[]): Promise<void> {
  await tx.execute(sql`
    update line_tickets t set line_removed = true, updated_at = now()
    from json_to_recordset(${jsonRows(rows)}) as x(sku text, at bigint)
    where t.sku = x.sku and t.joined_at <= ${fromEpochMs(sql`x.at`)} and not t.line_removed`);
}

/** A ticket as Postgres recorded it. */
export interface StoredTicket extends Pick<Ticket, 'id' | 'sku' | 'userId' | 'qty' | 'orderId' | 'status'> {
  place: number;
  lobby: boolean;
  joinedAtMs: number;
  /** When it was admitted or ended; null while waiting. */
  atMs: number | null;
  /** Its line was removed since: its user may join afresh. */
  lineRemoved: boolean;
}

/** Every ticket of the given SKUs. */
export function lineTicketsQuery(skus: readonly string[]): SQL {
  return sql`
    select id, sku, user_id, qty, order_id, status, place, lobby, joined_at, admitted_at, ended_at, line_removed from line_tickets
    where sku in (select jsonb_array_elements_text(${JSON.stringify(skus)}::jsonb))`;
}

/** The rows of lineTicketsQuery, in order of joining. */
export function lineTicketsFromRows(rows: Record<string, unknown>[]): StoredTicket[] {
  const msOf = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string).getTime());
  return rows
    .map((row) => ({
      id: String(row.id),
      sku: String(row.sku),
      userId: String(row.user_id),
      qty: Number(row.qty),
      orderId: row.order_id === null ? null : String(row.order_id),
      status: row.status as TicketStatus,
      place: Number(row.place),
      lobby: Boolean(row.lobby),
      joinedAtMs: msOf(row.joined_at)!,
      atMs: msOf(row.admitted_at) ?? msOf(row.ended_at),
      lineRemoved: Boolean(row.line_removed),
    }))
    .sort((a, b) => a.joinedAtMs - b.joinedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Per SKU, how many tickets wait and how many were admitted; SKUs without tickets are left out. */
export async function countLineTickets(db: Database, skus: readonly string[]): Promise<Map<string, { waiting: number; admitted: number }>> {
  const counts = new Map<string, { waiting: number; admitted: number }>();
  if (!skus.length) return counts;
  const rows = await queryRows<{ sku: string; waiting: number; admitted: number }>(db, sql`
    select sku, (count(*) filter (where status = 'WAITING'))::int as waiting, (count(*) filter (where status = 'ADMITTED'))::int as admitted
    from line_tickets where sku in (select jsonb_array_elements_text(${JSON.stringify(skus)}::jsonb))
    group by sku`);
  for (const { sku, waiting, admitted } of rows) counts.set(sku, { waiting: Number(waiting), admitted: Number(admitted) });
  return counts;
}

import { sql } from 'drizzle-orm';
import { type StatementRunner, queryRows } from './client';
import { fromEpochMs, jsonRows } from './jsonRows';

/** One half of a move between buckets as the drain writes it: the other half's time is null. */
export interface BucketMoveRow {
  id: string;
  from_sku: string;
  to_sku: string;
  qty: number;
  /** The location the units left (null on a SKU without locations). */
  location: string | null;
  /** Epoch ms (Redis time). */
  out_at: number | null;
  in_at: number | null;
}

/** A move whose units left their bucket and, as far as Postgres knows, never reached the other. */
export interface UnfinishedMove {
  id: string;
  fromSku: string;
  toSku: string;
  qty: number;
  /** '' on a SKU without locations. */
  location: string;
}

/** Writes halves of moves: either half may arrive first (each is drained from its own partition), each once. */
export async function upsertBucketMoves(tx: StatementRunner, rows: BucketMoveRow[]): Promise<void> {
  await tx.execute(sql`
    insert into bucket_moves as m (id, from_sku, to_sku, qty, location, out_at, in_at)
    select id, from_sku, to_sku, qty, location, ${fromEpochMs(sql`out_at`)}, ${fromEpochMs(sql`in_at`)}
    from json_to_recordset(${jsonRows(rows)}) as x(id text, from_sku text, to_sku text, qty int, location text, out_at bigint, in_at bigint)
    on conflict (id) do update set out_at = coalesce(m.out_at, excluded.out_at), in_at = coalesce(m.in_at, excluded.in_at),
      location = coalesce(m.location, excluded.location)`);
}

/** Moves out before `beforeMs` (epoch ms) whose move in Postgres has not seen, oldest first. */
export async function findUnfinishedMoves(db: StatementRunner, beforeMs: number, limit: number): Promise<UnfinishedMove[]> {
  return queryRows<UnfinishedMove>(db, sql`
    select id, from_sku as "fromSku", to_sku as "toSku", qty, coalesce(location, '') as location from bucket_moves
    where in_at is null and out_at < ${fromEpochMs(sql`${beforeMs}`)}
    order by out_at limit ${limit}`);
}

/** What Postgres knows of these moves: when each left its source and reached its target (null: not yet seen). */
export async function findBucketMoves(db: StatementRunner, ids: readonly string[]): Promise<Map<string, { outAt: Date | null; inAt: Date | null }>> {
  if (!ids.length) return new Map();
  const rows = await queryRows<{ id: string; out_at: Date | null; in_at: Date | null }>(db, sql`
    select id, out_at, in_at from bucket_moves where id in (select json_array_elements_text(${jsonRows(ids)}))`);
  return new Map(rows.map((row) => [row.id, { outAt: row.out_at, inAt: row.in_at }]));
}

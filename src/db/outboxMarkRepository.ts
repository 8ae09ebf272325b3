import { sql } from 'drizzle-orm';
import type { StatementRunner } from './client';
import { queryRows } from './client';

/** How far Postgres holds a partition's outbox (schema.ts, outboxMarks). */
export interface OutboxMark {
  epoch: string;
  entryId: string;
}

export async function readOutboxMark(tx: StatementRunner, partition: number): Promise<OutboxMark | null> {
  const [row] = await queryRows<{ epoch: string; entry_id: string }>(tx, sql`select epoch, entry_id from outbox_marks where partition = ${partition}`);
  return row ? { epoch: row.epoch, entryId: row.entry_id } : null;
}

export async function writeOutboxMark(tx: StatementRunner, partition: number, mark: OutboxMark): Promise<void> {
  await tx.execute(sql`
    insert into outbox_marks (partition, epoch, entry_id) values (${partition}, ${mark.epoch}, ${mark.entryId})
    on conflict (partition) do update set epoch = excluded.epoch, entry_id = excluded.entry_id, updated_at = now()`);
}

import { type SQL, sql } from 'drizzle-orm';
import { type Database, queryRows } from '../db/client';
import { applySkuSettings, applySkuSnapshots, replaceStockLevels } from '../db/skuRepository';
import type { FinalStatus } from '../domain/reservation';
import { type RecordedFacts, recordWebhookEvents } from '../webhooks/recordEvents';
import type { WritePlan } from './writePlan';

/**
 * Rows travel as one JSON parameter per statement: one round trip, any batch size, both drivers.
 * Times travel as epoch milliseconds.
 */
const rows = (value: unknown[]) => sql`${JSON.stringify(value)}::json`;
const ms = (column: SQL) => sql`to_timestamp(${column}::float8 / 1000)`;

/**
 * Writes a planned batch in one transaction; every statement is idempotent. The webhook events of
 * what the batch changed are recorded in the same transaction (src/webhooks/recordEvents.ts).
 */
export async function applyWritePlan(db: Database, plan: WritePlan): Promise<void> {
  await db.transaction(async (tx) => {
    const facts: RecordedFacts = { created: [], finished: [], snapshots: plan.snapshots, levels: plan.levels };
    const run = <T>(statement: SQL) => queryRows<T>(tx as unknown as Database, statement);
    if (plan.skuSettings.length) await applySkuSettings(tx, plan.skuSettings);
    if (plan.reservations.length) {
      const inserted = await run<{ id: string }>(sql`
        insert into reservations (id, user_id, order_id, status, created_at, expires_at)
        select id, user_id, order_id, 'PENDING', ${ms(sql`created_at`)}, ${ms(sql`expires_at`)}
        from json_to_recordset(${rows(plan.reservations)}) as x(id text, user_id text, order_id text, created_at bigint, expires_at bigint)
        on conflict (id) do nothing
        returning id`);
      facts.created = inserted.map((row) => row.id);
    }
    if (plan.bindings.length) {
      await tx.execute(sql`
        insert into idempotency_keys (user_id, key_hash, reservation_id, fingerprint, created_at)
        select user_id, key_hash, reservation_id, fingerprint, ${ms(sql`created_at`)}
        from json_to_recordset(${rows(plan.bindings)}) as x(user_id text, key_hash text, reservation_id text, fingerprint text, created_at bigint)
        on conflict do nothing`);
    }
    if (plan.unbinds.length) {
      await tx.execute(sql`
        delete from idempotency_keys where reservation_id in (select json_array_elements_text(${rows(plan.unbinds)}))`);
    }
    if (plan.items.length) {
      await tx.execute(sql`
        insert into reservation_items (reservation_id, sku, line_no, qty, reserved, allocations)
        select reservation_id, sku, line_no, qty, reserved, allocations
        from json_to_recordset(${rows(plan.items)}) as x(reservation_id text, sku text, line_no int, qty int, reserved int, allocations jsonb)
        on conflict do nothing`);
    }
    if (plan.extensions.length) {
      await tx.execute(sql`
        update reservations r set expires_at = ${ms(sql`x.expires_at`)}, updated_at = now()
        from json_to_recordset(${rows(plan.extensions)}) as x(id text, expires_at bigint)
        where r.id = x.id and r.status = 'PENDING'`);
    }
    if (plan.finishes.length) {
      // Only a pending reservation moves; the first terminal state recorded is the one that stays.
      const moved = await run<{ id: string; status: FinalStatus; at_ms: number }>(sql`
        update reservations r set status = x.status,
          committed_at = case when x.status = 'COMMITTED' then x.at else r.committed_at end,
          released_at = case when x.status <> 'COMMITTED' then x.at else r.released_at end,
          updated_at = now()
        from (select distinct on (id) id, status, ${ms(sql`at`)} as at
              from json_to_recordset(${rows(plan.finishes)}) as f(id text, status text, at bigint)
              order by id, f.at) as x
        where r.id = x.id and r.status = 'PENDING'
        returning r.id, r.status, (extract(epoch from x.at) * 1000)::float8 as at_ms`);
      facts.finished = moved.map(({ id, status, at_ms }) => ({ id, status, atMs: Number(at_ms) }));
    }
    if (plan.movements.length) {
      await tx.execute(sql`
        insert into stock_movements (event_key, sku, location, type, qty, reason, actor, reservation_id, at)
        select event_key, sku, location, type, qty, reason, actor, reservation_id, ${ms(sql`at`)}
        from json_to_recordset(${rows(plan.movements)}) as x(event_key text, sku text, location text, type text, qty int, reason text,
          actor text, reservation_id text, at bigint)
        on conflict (event_key) do nothing`);
    }
    if (plan.snapshots.length) await applySkuSnapshots(tx, plan.snapshots);
    await replaceStockLevels(tx, plan.levels);
    await recordWebhookEvents(tx, facts);
  });
}

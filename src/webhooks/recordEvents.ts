import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Database, queryRows } from '../db/client';
import { findReservations } from '../db/reservationRepository';
import type { SkuSnapshotRow, StockLevelRow } from '../db/skuRepository';
import type { FinalStatus } from '../domain/reservation';
import type { WebhookEventType } from '../domain/webhooks';

/** What one drained batch changed in Postgres, as the statements that changed it reported. */
export interface RecordedFacts {
  /** Reservations this batch inserted. */
  created: string[];
  /** Reservations this batch moved out of PENDING, with the Redis time it happened. */
  finished: { id: string; status: FinalStatus; atMs: number }[];
  /** The newest counters of each SKU in the batch, and its locations at that version. */
  snapshots: SkuSnapshotRow[];
  levels: StockLevelRow[];
}

const FINISHED_TYPE: Record<FinalStatus, WebhookEventType> = {
  COMMITTED: 'reservation.committed',
  RELEASED: 'reservation.released',
  EXPIRED: 'reservation.expired',
};

interface EventRow {
  id: string;
  type: WebhookEventType;
  subject: string;
  at: number;
  data: unknown;
}

/**
 * An event's id, from the fact it reports: a reservation reaches each state once, a SKU's
 * counters have one value per version. Recording the same batch again yields the same ids.
 */
const eventId = (type: WebhookEventType, subject: string, version = '') =>
  `evt_${createHash('sha256').update(`${type}\n${subject}\n${version}`).digest('hex').slice(0, 32)}`;

/** Runs in a transaction of the drain. */
type Executor = Pick<Database, 'execute' | 'select'>;

/**
 * Records the webhook events of a drained batch, in the batch's own transaction, with one
 * delivery per endpoint listening to each: an event exists exactly when Postgres holds its fact.
 * Nothing is recorded for a type no endpoint listens to.
 */
export async function recordWebhookEvents(tx: Executor, facts: RecordedFacts): Promise<void> {
  const listened = new Set(
    (await queryRows<{ type: WebhookEventType }>(tx as Database, sql`select distinct unnest(events) as type from webhook_endpoints`)).map((row) => row.type),
  );
  if (!listened.size) return;
  const events = [...(await reservationEvents(tx, facts, listened)), ...(await stockEvents(tx, facts, listened))];
  if (!events.length) return;
  await tx.execute(sql`
    with recorded as (
      insert into webhook_events (id, type, subject, created_at, data)
      select id, type, subject, to_timestamp(at::float8 / 1000), data
      from json_to_recordset(${JSON.stringify(events)}::json) as x(id text, type text, subject text, at bigint, data jsonb)
      on conflict (id) do nothing
      returning id, seq, type, subject)
    insert into webhook_deliveries (endpoint_id, event_id, seq, subject, next_attempt_at)
    select ep.id, recorded.id, recorded.seq, recorded.subject, now()
    from recorded join webhook_endpoints ep on recorded.type = any(ep.events)
    on conflict do nothing`);
}

/** Created first, then ended: a reservation made and ended in one batch is told in that order. */
async function reservationEvents(tx: Executor, facts: RecordedFacts, listened: Set<WebhookEventType>): Promise<EventRow[]> {
  const created = listened.has('reservation.created') ? facts.created : [];
  const finished = facts.finished.filter(({ status }) => listened.has(FINISHED_TYPE[status]));
  if (!created.length && !finished.length) return [];
  const views = await findReservations(tx, [...new Set([...created, ...finished.map(({ id }) => id)])]);
  const events: EventRow[] = [];
  for (const id of created) {
    const view = views.get(id);
    const type = 'reservation.created';
    if (view) events.push({ id: eventId(type, id), type, subject: id, at: Date.parse(view.createdAt), data: { ...view, status: 'PENDING' } });
  }
  for (const { id, status, atMs } of finished) {
    const view = views.get(id);
    const type = FINISHED_TYPE[status];
    if (view) events.push({ id: eventId(type, id), type, subject: id, at: atMs, data: { ...view, status } });
  }
  return events;
}

/**
 * stock.changed for every SKU whose counters moved past the last ones recorded, and
 * stock.sold_out / stock.back_in_stock when its available crossed zero since then.
 */
async function stockEvents(tx: Executor, facts: RecordedFacts, listened: Set<WebhookEventType>): Promise<EventRow[]> {
  if (!facts.snapshots.length || ![...listened].some((type) => type.startsWith('stock.'))) return [];
  const rows = facts.snapshots.map(({ sku, available, version }) => ({ sku, available, version }));
  // Every part of one statement reads the table as it was before it: `before` is the last state recorded.
  const moved = await queryRows<{ sku: string; previous: number | null }>(
    tx as Database,
    sql`
    with x as (select * from json_to_recordset(${JSON.stringify(rows)}::json) as x(sku text, available int, version bigint)),
    before as (select s.sku, s.available from webhook_stock_state s join x using (sku)),
    saved as (
      insert into webhook_stock_state (sku, available, version) select sku, available, version from x
      on conflict (sku) do update set available = excluded.available, version = excluded.version
      where webhook_stock_state.version < excluded.version
      returning sku)
    select saved.sku, before.available as previous from saved left join before using (sku)`,
  );
  const now = Date.now();
  const events: EventRow[] = [];
  for (const { sku, previous } of moved) {
    const snapshot = facts.snapshots.find((row) => row.sku === sku)!;
    const { total, available, reserved, sold, version } = snapshot;
    const locations = facts.levels
      .filter((level) => level.sku === sku)
      .map(({ location, active, total, available, reserved, sold }) => ({ location, active, total, available, reserved, sold }));
    const data = { sku, total, available, reserved, sold, locations };
    const types: WebhookEventType[] = ['stock.changed'];
    if (previous !== null && Number(previous) > 0 && available === 0) types.push('stock.sold_out');
    if (previous !== null && Number(previous) === 0 && available > 0) types.push('stock.back_in_stock');
    for (const type of types) if (listened.has(type)) events.push({ id: eventId(type, sku, String(version)), type, subject: sku, at: now, data });
  }
  return events;
}

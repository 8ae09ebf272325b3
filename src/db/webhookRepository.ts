import type { ChangeMark } from '../domain/changeMark';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { DeliveryState, WebhookEndpoint, WebhookEventType } from '../domain/webhooks';
import { type Database, type StatementRunner, queryRows } from './client';
import { fromEpochMs, jsonRows } from './jsonRows';
import { webhookAttempts, webhookDeliveries, webhookEndpoints, webhookEvents } from './schema';

/**
 * The one reader and writer of the webhook tables. Which events the drain records, and when, is
 * src/webhooks/recordEvents.ts's business; the statements that record them are here.
 */

type EndpointRow = typeof webhookEndpoints.$inferSelect;

const toEndpoint = (row: EndpointRow): WebhookEndpoint => ({
  id: row.id,
  url: row.url,
  events: row.events,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

export async function findEndpoint(db: Database, id: string): Promise<WebhookEndpoint | undefined> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).limit(1);
  return row && toEndpoint(row);
}

/**
 * Creates or replaces an endpoint. Without a secret the stored one is kept; `null` when there is
 * none to keep (the endpoint is new), and nothing is written then.
 */
export async function saveEndpoint(
  db: Database,
  endpoint: { id: string; url: string; events: WebhookEventType[]; secret?: string },
): Promise<{ endpoint: WebhookEndpoint; created: boolean } | null> {
  const { id, url, events, secret } = endpoint;
  if (secret === undefined) {
    const [row] = await db
      .update(webhookEndpoints)
      .set({ url, events, updatedAt: sql`now()` })
      .where(eq(webhookEndpoints.id, id))
      .returning();
    return row ? { endpoint: toEndpoint(row), created: false } : null;
  }
  // xmax = 0 only on a row this statement inserted: tells a create from a replace in one statement.
  const [row] = await db
    .insert(webhookEndpoints)
    .values({ id, url, events, secret })
    .onConflictDoUpdate({ target: webhookEndpoints.id, set: { url, events, secret, updatedAt: sql`now()` } })
    .returning({ ...endpointColumns, created: sql<boolean>`(xmax = 0)` });
  return { endpoint: toEndpoint(row), created: Boolean(row.created) };
}

const endpointColumns = {
  id: webhookEndpoints.id,
  url: webhookEndpoints.url,
  events: webhookEndpoints.events,
  secret: webhookEndpoints.secret,
  createdAt: webhookEndpoints.createdAt,
  updatedAt: webhookEndpoints.updatedAt,
};

export async function listEndpoints(db: Database): Promise<WebhookEndpoint[]> {
  const rows = await db.select().from(webhookEndpoints).orderBy(asc(webhookEndpoints.id));
  return rows.map(toEndpoint);
}

/** Deletes an endpoint with its deliveries; false when there was none. */
export async function deleteEndpoint(db: Database, id: string): Promise<boolean> {
  const rows = await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

export interface DeliveryAttempt {
  attempt: number;
  at: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

export interface DeliveryView {
  eventId: string;
  type: WebhookEventType;
  eventCreatedAt: string;
  state: DeliveryState;
  attempts: DeliveryAttempt[];
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

/** An endpoint's latest deliveries, newest event first, each with every attempt in order. */
export async function listDeliveries(db: Database, endpointId: string, limit: number): Promise<DeliveryView[]> {
  const rows = await db
    .select({
      eventId: webhookDeliveries.eventId,
      type: webhookEvents.type,
      eventCreatedAt: webhookEvents.createdAt,
      state: webhookDeliveries.state,
      nextAttemptAt: webhookDeliveries.nextAttemptAt,
      deliveredAt: webhookDeliveries.deliveredAt,
    })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(eq(webhookDeliveries.endpointId, endpointId))
    .orderBy(desc(webhookDeliveries.seq))
    .limit(limit);
  const attempts = rows.length
    ? await db
        .select()
        .from(webhookAttempts)
        .where(and(eq(webhookAttempts.endpointId, endpointId), inArray(webhookAttempts.eventId, rows.map((row) => row.eventId))))
        .orderBy(asc(webhookAttempts.attempt))
    : [];
  return rows.map((row) => ({
    eventId: row.eventId,
    type: row.type,
    eventCreatedAt: row.eventCreatedAt.toISOString(),
    state: row.state,
    attempts: attempts
      .filter((attempt) => attempt.eventId === row.eventId)
      .map(({ attempt, at, durationMs, statusCode, error }) => ({ attempt, at: at.toISOString(), durationMs, statusCode, error })),
    nextAttemptAt: row.state === 'PENDING' ? row.nextAttemptAt.toISOString() : null,
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
  }));
}

/** A delivery a dispatcher took to send now. */
export interface ClaimedDelivery {
  endpointId: string;
  eventId: string;
  url: string;
  secret: string;
  /** Attempts made before this one. */
  attempts: number;
  type: WebhookEventType;
  eventCreatedAtMs: number;
  data: unknown;
}

/**
 * Takes up to `limit` deliveries that are due, leasing them for `leaseMs`, in recording order.
 * A delivery waits while an earlier one to the same endpoint about the same subject is pending,
 * so each receiver sees a reservation's events in order. Endpoints in `busy` (this dispatcher is
 * still sending to them) are left out. One statement: several dispatchers (engine processes)
 * never take the same delivery (SKIP LOCKED), and a dispatcher that died lets its leases lapse.
 */
export async function claimDueDeliveries(db: Database, options: { limit: number; leaseMs: number; busy: string[] }): Promise<ClaimedDelivery[]> {
  const rows = await queryRows<{
    endpoint_id: string;
    event_id: string;
    url: string;
    secret: string;
    attempts: number;
    type: WebhookEventType;
    created_ms: number;
    data: unknown;
    seq: number;
  }>(
    db,
    sql`
    with picked as (
      select c.endpoint_id, c.event_id from webhook_deliveries c
      where c.state = 'PENDING' and c.next_attempt_at <= now() and (c.lease_until is null or c.lease_until < now())
        and c.endpoint_id not in (select json_array_elements_text(${JSON.stringify(options.busy)}::json))
        and not exists (
          select 1 from webhook_deliveries p
          where p.endpoint_id = c.endpoint_id and p.subject = c.subject and p.seq < c.seq and p.state = 'PENDING')
      order by c.seq
      limit ${options.limit}
      for update of c skip locked)
    update webhook_deliveries d set lease_until = now() + ${options.leaseMs} * interval '1 millisecond'
    from picked, webhook_events e, webhook_endpoints ep
    where d.endpoint_id = picked.endpoint_id and d.event_id = picked.event_id and e.id = d.event_id and ep.id = d.endpoint_id
    returning d.endpoint_id, d.event_id, ep.url, ep.secret, d.attempts, e.type, (extract(epoch from e.created_at) * 1000)::float8 as created_ms,
      e.data, d.seq`,
  );
  return rows
    .sort((a, b) => Number(a.seq) - Number(b.seq))
    .map((row) => ({
      endpointId: row.endpoint_id,
      eventId: row.event_id,
      url: row.url,
      secret: row.secret,
      attempts: Number(row.attempts),
      type: row.type,
      eventCreatedAtMs: Number(row.created_ms),
      data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
    }));
}

/** How an attempt went, and so what becomes of the delivery. */
export interface AttemptOutcome {
  at: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** DELIVERED, FAILED (gave up), or PENDING with the time of the next attempt. */
  state: DeliveryState;
  nextAttemptAt?: Date;
}

/**
 * Records an attempt, then the delivery's new state. Two statements, attempt first: a crash
 * between them leaves the delivery pending, so it is sent again (at least once, never lost).
 */
export async function recordAttempt(db: Database, delivery: ClaimedDelivery, outcome: AttemptOutcome): Promise<void> {
  const attempt = delivery.attempts + 1;
  const key = and(eq(webhookDeliveries.endpointId, delivery.endpointId), eq(webhookDeliveries.eventId, delivery.eventId));
  await db
    .insert(webhookAttempts)
    .values({ endpointId: delivery.endpointId, eventId: delivery.eventId, attempt, at: outcome.at, durationMs: outcome.durationMs, statusCode: outcome.statusCode, error: outcome.error })
    .onConflictDoNothing();
  await db
    .update(webhookDeliveries)
    .set({
      attempts: attempt,
      state: outcome.state,
      leaseUntil: null,
      ...(outcome.nextAttemptAt ? { nextAttemptAt: outcome.nextAttemptAt } : {}),
      ...(outcome.state === 'DELIVERED' ? { deliveredAt: outcome.at } : {}),
    })
    .where(key);
}

/**
 * Deletes events recorded before `before` whose deliveries are all finished (delivered or given
 * up), with those deliveries and their attempts; answers how many events went.
 */
export async function pruneEvents(db: Database, before: Date): Promise<number> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`
    delete from webhook_events e
    where e.created_at < ${before.toISOString()}::timestamptz
      and not exists (select 1 from webhook_deliveries d where d.event_id = e.id and d.state = 'PENDING')
    returning e.id`,
  );
  return rows.length;
}

/** Gives leases back untried (a dispatcher stopping, or an earlier delivery of the subject failed), in one statement. */
export async function releaseClaims(db: Database, deliveries: ClaimedDelivery[]): Promise<void> {
  if (!deliveries.length) return;
  const keys = deliveries.map(({ endpointId, eventId }) => ({ endpoint_id: endpointId, event_id: eventId }));
  await db.execute(sql`
    update webhook_deliveries d set lease_until = null
    from json_to_recordset(${JSON.stringify(keys)}::json) as x(endpoint_id text, event_id text)
    where d.endpoint_id = x.endpoint_id and d.event_id = x.event_id`);
}

/** The event types at least one endpoint listens to. */
export async function listenedEventTypes(tx: Pick<Database, 'selectDistinct'>): Promise<Set<WebhookEventType>> {
  const rows = await tx.selectDistinct({ type: sql<WebhookEventType>`unnest(${webhookEndpoints.events})` }).from(webhookEndpoints);
  return new Set(rows.map((row) => row.type));
}

/** An event to record; `at` is when it happened, in epoch milliseconds. */
export interface WebhookEventRow {
  id: string;
  type: WebhookEventType;
  subject: string;
  at: number;
  data: unknown;
}

/**
 * Records events, each with one pending delivery per endpoint listening to its type, in one
 * statement; an event recorded already (same id) adds nothing.
 */
export async function insertEventsWithDeliveries(tx: StatementRunner, events: WebhookEventRow[]): Promise<void> {
  await tx.execute(sql`
    with recorded as (
      insert into webhook_events (id, type, subject, created_at, data)
      select id, type, subject, ${fromEpochMs(sql`at`)}, data
      from json_to_recordset(${jsonRows(events)}) as x(id text, type text, subject text, at bigint, data jsonb)
      on conflict (id) do nothing
      returning id, seq, type, subject)
    insert into webhook_deliveries (endpoint_id, event_id, seq, subject, next_attempt_at)
    select ep.id, recorded.id, recorded.seq, recorded.subject, now()
    from recorded join webhook_endpoints ep on recorded.type = any(ep.events)
    on conflict do nothing`);
}

/**
 * Saves each SKU's available units at its epoch and version, unless a newer one is saved; answers the
 * SKUs saved, each with the units saved before (null for a SKU not saved before).
 */
export async function saveStockStates(
  tx: StatementRunner,
  rows: ({ sku: string; available: number } & ChangeMark)[],
): Promise<{ sku: string; previous: number | null }[]> {
  // Every part of one statement reads the table as it was before it: `before` is the last state recorded.
  return queryRows<{ sku: string; previous: number | null }>(
    tx,
    sql`
    with x as (select * from json_to_recordset(${jsonRows(rows)}) as x(sku text, available int, version bigint, epoch bigint)),
    before as (select s.sku, s.available from webhook_stock_state s join x using (sku)),
    saved as (
      insert into webhook_stock_state (sku, available, version, epoch) select sku, available, version, epoch from x
      on conflict (sku) do update set available = excluded.available, version = excluded.version, epoch = excluded.epoch
      where (webhook_stock_state.epoch, webhook_stock_state.version) < (excluded.epoch, excluded.version)
      returning sku)
    select saved.sku, before.available as previous from saved left join before using (sku)`,
  );
}

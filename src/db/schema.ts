import { sql } from 'drizzle-orm';
import { MOVEMENT_TYPES } from '../domain/movements';
import { RECONCILE_TRIGGERS } from '../domain/reconcile';
import { TICKET_STATUSES } from '../domain/line';
import { RESERVATION_STATUSES } from '../domain/reservation';
import { bigint, boolean, doublePrecision, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { DELIVERY_STATES, WEBHOOK_EVENT_TYPES } from '../domain/webhooks';

const time = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** One row per SKU: its settings and the counters last drained from Redis. */
export const skus = pgTable('skus', {
  sku: text('sku').primaryKey(),
  total: integer('total').notNull(),
  available: integer('available').notNull(),
  reserved: integer('reserved').notNull(),
  sold: integer('sold').notNull(),
  perUserLimit: integer('per_user_limit'),
  startsAt: time('starts_at'),
  endsAt: time('ends_at'),
  /** The waiting line's hold for an admitted shopper (ms); null while the SKU has no line. */
  lineHoldTtlMs: integer('line_hold_ttl_ms'),
  /** How long before startsAt the line opens (ms); null while the SKU has no line. */
  lineLobbyMs: integer('line_lobby_ms'),
  /** Buckets the SKU's units are split into (src/domain/buckets.ts): on every bucket's row alike. */
  buckets: integer('buckets').notNull().default(1),
  /** Redis's per-SKU change counter at the last applied snapshot; older snapshots never win. */
  version: bigint('version', { mode: 'number' }).notNull().default(0),
  /** The partition's shard epoch that version counts in (src/domain/changeMark.ts): a newer epoch wins whatever its version. */
  epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
  /**
   * Set when a snapshot of a newer epoch replaced the row's counters (a failover may have lost
   * changes Postgres recorded): the drift check judges the SKU against the facts once, even where
   * Redis and this row agree.
   */
  factsDue: boolean('facts_due').notNull().default(false),
  createdAt: time('created_at').notNull().default(sql`now()`),
  updatedAt: time('updated_at').notNull().default(sql`now()`),
});

/**
 * One row per SKU and location: its counters as last drained from Redis (a SKU created with a
 * plain total has one, "default"). The SKU row's counters are their sums.
 */
export const stockLevels = pgTable(
  'stock_levels',
  {
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    /** Order of the location among the SKU's: active ones first, in priority order. */
    position: integer('position').notNull(),
    /** False: left out of the last PUT; keeps what is held and sold there, takes no new holds. */
    active: boolean('active').notNull(),
    total: integer('total').notNull(),
    available: integer('available').notNull(),
    reserved: integer('reserved').notNull(),
    sold: integer('sold').notNull(),
    /** The SKU's Redis change counter when this row was written; older snapshots never win. */
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    /** The shard epoch that version counts in, as on `skus`. */
    epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
    updatedAt: time('updated_at').notNull().default(sql`now()`),
  },
  (table) => [primaryKey({ columns: [table.sku, table.location] })],
);

export const reservations = pgTable(
  'reservations',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    /** Null for a cart hold made before any order existed. */
    orderId: text('order_id'),
    status: text('status', { enum: RESERVATION_STATUSES }).notNull(),
    createdAt: time('created_at').notNull(),
    expiresAt: time('expires_at').notNull(),
    committedAt: time('committed_at'),
    releasedAt: time('released_at'),
    updatedAt: time('updated_at').notNull().default(sql`now()`),
  },
  (table) => [index('reservations_user_idx').on(table.userId)],
);

export const reservationItems = pgTable(
  'reservation_items',
  {
    // No foreign key: the drain writes a reservation and its lines in one statement batch, and a
    // key's check per line (a locking read of the reservation) was an eighth of the drain's cost.
    reservationId: text('reservation_id').notNull(),
    sku: text('sku').notNull(),
    /** Position of the line in the request, so reads list lines as they were asked for. */
    lineNo: integer('line_no').notNull(),
    qty: integer('qty').notNull(),
    reserved: integer('reserved').notNull(),
    /** Where the reserved units are held, [{ location, reserved }]; null on a SKU without locations ("default"). */
    allocations: jsonb('allocations').$type<{ location: string; reserved: number }[]>(),
  },
  // Two lines may name one SKU in two locations: a line is known by its position.
  (table) => [primaryKey({ columns: [table.reservationId, table.lineNo] }), index('reservation_items_sku_idx').on(table.sku)],
);

/**
 * Idempotency-Key bindings, written by the drain with their reservation so a rebuild of a Redis
 * that lost its data can restore them: a retry with the same key then replays, never holds twice.
 * Kept while Redis keeps them (the engine's idempotency ttl after created_at).
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: text('user_id').notNull(),
    /** Digest of the client's key (the raw key is never stored). */
    keyHash: text('key_hash').notNull(),
    reservationId: text('reservation_id').notNull(),
    fingerprint: text('fingerprint').notNull(),
    createdAt: time('created_at').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.keyHash] }),
    index('idempotency_keys_reservation_idx').on(table.reservationId),
    index('idempotency_keys_created_idx').on(table.createdAt),
  ],
);

export const stockMovements = pgTable(
  'stock_movements',
  {
    /** Outbox entry id, event and line: writing the same event twice inserts nothing the second time. */
    eventKey: text('event_key').primaryKey(),
    sku: text('sku').notNull(),
    /** The location whose units moved ("default" on a SKU without locations). */
    location: text('location').notNull().default('default'),
    type: text('type', { enum: MOVEMENT_TYPES }).notNull(),
    qty: integer('qty').notNull(),
    reason: text('reason'),
    actor: text('actor'),
    reservationId: text('reservation_id'),
    at: time('at').notNull(),
  },
  // COMMITs by reservation: the rebuild looks for committed lines without their COMMIT movement.
  // Only those: indexing every RESERVE, RELEASE and EXPIRE row too cost the drain per hold.
  (table) => [
    index('stock_movements_sku_at_idx').on(table.sku, table.at),
    index('stock_movements_commit_idx').on(table.reservationId).where(sql`${table.type} = 'COMMIT'`),
  ],
);

/**
 * Moves of units between two buckets of a SKU (src/reconciler/bucketMoves.ts), one row per move,
 * written by the drain from the MOVE events of both halves (and by the engine for the first, before
 * it adds the units anywhere). A move out without its move in is one the reconciler finishes.
 */
export const bucketMoves = pgTable(
  'bucket_moves',
  {
    id: text('id').primaryKey(),
    fromSku: text('from_sku').notNull(),
    toSku: text('to_sku').notNull(),
    qty: integer('qty').notNull(),
    /** The location whose units moved, on a SKU with locations. */
    location: text('location'),
    /** When the units left the source bucket (Redis time); null until that half is drained. */
    outAt: time('out_at'),
    /** When they reached the target bucket; null until that half is drained. */
    inAt: time('in_at'),
  },
  (table) => [index('bucket_moves_unfinished_idx').on(table.outAt).where(sql`${table.inAt} is null`)],
);

/**
 * Waiting-line tickets (lua/includes/line.lua), written by the drain from the ticket events: what
 * a rebuild of a Redis that lost its data needs to put each line back in its order. A ticket only
 * moves from WAITING to one later state, never back.
 */
export const lineTickets = pgTable(
  'line_tickets',
  {
    /** A reservation id homed in the SKU's partition; an admitted ticket's hold takes it. */
    id: text('id').primaryKey(),
    sku: text('sku').notNull(),
    userId: text('user_id').notNull(),
    qty: integer('qty').notNull(),
    orderId: text('order_id'),
    status: text('status', { enum: TICKET_STATUSES }).notNull(),
    /**
     * Where it stands: the running sum of units wanted up to it. A lobby ticket's is its random
     * draw in (-1, 0) until an event after the lobby's shuffle carries its place.
     */
    place: doublePrecision('place').notNull(),
    /** Joined in the lobby, before startsAt. */
    lobby: boolean('lobby').notNull(),
    joinedAt: time('joined_at').notNull(),
    admittedAt: time('admitted_at'),
    /** When it ended SOLD_OUT, LEFT or CLOSED. */
    endedAt: time('ended_at'),
    /** The hold made for it once admitted (the ticket's own id). */
    reservationId: text('reservation_id'),
    /** The SKU's line was removed after it joined: its user is free of it (a line set again starts afresh). */
    lineRemoved: boolean('line_removed').notNull().default(false),
    updatedAt: time('updated_at').notNull().default(sql`now()`),
  },
  (table) => [index('line_tickets_sku_status_idx').on(table.sku, table.status)],
);

export const reconcileRuns = pgTable(
  'reconcile_runs',
  {
    id: text('id').primaryKey(),
    trigger: text('trigger', { enum: RECONCILE_TRIGGERS }).notNull(),
    startedAt: time('started_at').notNull(),
    finishedAt: time('finished_at'),
    expiredReleased: integer('expired_released').notNull().default(0),
    eventsWritten: integer('events_written').notNull().default(0),
    drift: jsonb('drift').notNull().default(sql`'[]'::jsonb`),
    repaired: boolean('repaired').notNull().default(false),
    error: text('error'),
  },
  (table) => [index('reconcile_runs_started_idx').on(table.startedAt)],
);

/**
 * How far Postgres holds each partition's outbox: the last stream entry written, in the shard epoch
 * it was read in (src/reconciler/applyEntries.ts). An entry at or before it is never applied again,
 * so a batch read before another and written after it cannot take Postgres back.
 */
export const outboxMarks = pgTable('outbox_marks', {
  partition: integer('partition').primaryKey(),
  epoch: text('epoch').notNull(),
  entryId: text('entry_id').notNull(),
  updatedAt: time('updated_at').notNull().default(sql`now()`),
});

/** Where webhooks go. The secret signs every delivery; the API never returns it. */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  events: text('events', { enum: WEBHOOK_EVENT_TYPES }).array().notNull(),
  secret: text('secret').notNull(),
  createdAt: time('created_at').notNull().default(sql`now()`),
  updatedAt: time('updated_at').notNull().default(sql`now()`),
});

/**
 * What happened, as the drain recorded it in the same transaction as the fact itself, so an event
 * exists exactly when its fact does. The id derives from the fact: recording it twice adds nothing.
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    /** Recording order: deliveries of one subject go out in this order. */
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    type: text('type', { enum: WEBHOOK_EVENT_TYPES }).notNull(),
    /** The reservation id or SKU the event is about. */
    subject: text('subject').notNull(),
    createdAt: time('created_at').notNull(),
    data: jsonb('data').notNull(),
  },
  (table) => [index('webhook_events_created_idx').on(table.createdAt)],
);

/** One event to one endpoint: its state and when it is tried next. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    /** The event's seq and subject, copied so the next due delivery is found from one index. */
    seq: bigint('seq', { mode: 'number' }).notNull(),
    subject: text('subject').notNull(),
    state: text('state', { enum: DELIVERY_STATES }).notNull().default('PENDING'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: time('next_attempt_at').notNull(),
    /** Set while a dispatcher is sending it; a dispatcher that died leaves it to expire. */
    leaseUntil: time('lease_until'),
    deliveredAt: time('delivered_at'),
  },
  (table) => [
    primaryKey({ columns: [table.endpointId, table.eventId] }),
    index('webhook_deliveries_due_idx').on(table.state, table.nextAttemptAt),
    index('webhook_deliveries_order_idx').on(table.endpointId, table.subject, table.seq),
  ],
);

/** Every attempt of a delivery, for operators: when, how long, and what came back. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    endpointId: text('endpoint_id').notNull(),
    eventId: text('event_id').notNull(),
    attempt: integer('attempt').notNull(),
    at: time('at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    /** The receiver's HTTP status; null when none came back (refused, timed out). */
    statusCode: integer('status_code'),
    error: text('error'),
  },
  (table) => [
    primaryKey({ columns: [table.endpointId, table.eventId, table.attempt] }),
    foreignKey({ columns: [table.endpointId, table.eventId], foreignColumns: [webhookDeliveries.endpointId, webhookDeliveries.eventId] }).onDelete('cascade'),
  ],
);

/**
 * Each SKU's counters as the last stock event recorded them, so the next snapshot knows whether
 * the SKU just sold out or came back (kept while any endpoint listens to stock events).
 */
export const webhookStockState = pgTable('webhook_stock_state', {
  sku: text('sku').primaryKey(),
  available: integer('available').notNull(),
  version: bigint('version', { mode: 'number' }).notNull(),
  /** The shard epoch that version counts in, as on `skus`. */
  epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
});

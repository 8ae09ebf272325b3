import { sql } from 'drizzle-orm';
import { MOVEMENT_TYPES } from '../domain/movements';
import { RECONCILE_TRIGGERS } from '../domain/reconcile';
import { RESERVATION_STATUSES } from '../domain/reservation';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

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
  /** Redis's per-SKU change counter at the last applied snapshot; older snapshots never win. */
  version: bigint('version', { mode: 'number' }).notNull().default(0),
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
    reservationId: text('reservation_id')
      .notNull()
      .references(() => reservations.id, { onDelete: 'cascade' }),
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
  (table) => [index('stock_movements_sku_at_idx').on(table.sku, table.at)],
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

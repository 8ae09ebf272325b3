/**
 * The outbox as the reconciler reads it. Each stream entry (field `e`, JSON) holds the events of
 * one script call and the counters of the SKUs it touched, as they stood after the call. Lua's
 * cjson writes an empty array as `{}`, hence `list()`.
 */
import type { IdempotencyBinding } from './idempotencyBinding';
import type { LocationCounterRow } from './stockHash';
import { type ReservationRecord, decodeReserveEvent } from './reservationRecord';

/**
 * [sku, total, available, reserved, sold, version, epoch] after the change (epoch: the partition's
 * shard epoch, src/domain/changeMark.ts), and each location's counters on a SKU with locations;
 * read from the scripts' layout by parseEntry.
 */
export type StockSnapshot = [string, number, number, number, number, number, number, LocationCounterRow[]?];
/** [reservationId, sku, units]: units a number, or a units text where the SKU has locations (holdUnits.ts). */
export type HoldLine = [string, string, number | string];

/** Whether stream entry id `a` ("<ms>-<seq>") comes after `b`. */
export function isLaterEntryId(a: string, b: string): boolean {
  const [aMs, aSeq] = a.split('-').map(Number);
  const [bMs, bSeq] = b.split('-').map(Number);
  return aMs > bMs || (aMs === bMs && aSeq > bSeq);
}

interface Base {
  at: number;
}

export interface ReserveEvent extends Base {
  type: 'RESERVE';
  id: string;
  userId: string;
  orderId: string | null;
  createdAt: number;
  expiresAt: number;
  /** [sku, qty, reserved, allocations] in request order (reservationRecord.ts). */
  items: ReservationRecord['lines'];
  /** The Idempotency-Key the request bound to this reservation, if any. */
  binding?: IdempotencyBinding;
}

/** A reserve answered 503 was undone: its Idempotency-Key binding is gone (lua/abandon.lua). */
export interface UnbindEvent extends Base {
  type: 'UNBIND';
  id: string;
}

export interface FinishEvent extends Base {
  type: 'COMMIT' | 'RELEASE' | 'EXPIRE';
  /** Set when one reservation ended; sweeps of many holds carry only lines. */
  id?: string;
  lines: HoldLine[];
}

export interface ExtendEvent extends Base {
  type: 'EXTEND';
  id: string;
  expiresAt: number;
}

export interface SetEvent extends Base {
  type: 'SET';
  sku: string;
  delta: number;
  actor: string;
  perUserLimit?: number;
  startsAt?: number;
  endsAt?: number;
  /** On a SKU with locations: [location, change of its total] for each location whose total changed. */
  locations?: [string, number][];
  /** The SKU's waiting line as set; absent when it has none. */
  line?: { holdTtlMs: number; lobbyMs: number };
  /** Buckets its units are split into, on each bucket; absent for one. */
  buckets?: number;
}

export interface AdjustEvent extends Base {
  type: 'ADJUST';
  sku: string;
  delta: number;
  reason: string;
  actor: string;
  /** The location adjusted, on a SKU with locations. */
  location?: string;
}

/**
 * Units moved between two buckets of a SKU (src/reconciler/bucketMoves.ts): taken out of the source
 * (delta < 0) or added to the target (delta > 0), each in its own bucket's partition.
 */
export interface MoveEvent extends Base {
  type: 'MOVE';
  /** The bucket's internal SKU (src/domain/buckets.ts). */
  sku: string;
  delta: number;
  move: string;
  /** The other bucket of the move. */
  peer: string;
  /** The location whose units moved, on a bucket with locations. */
  location?: string;
}

/**
 * A waiting-line ticket changed (lua/includes/line.lua, ticketEvent): it joined, was admitted (the
 * entry's RESERVE event before it holds its units, under the ticket's id), or ended. `at` is when.
 */
export interface TicketEvent extends Base {
  type: 'JOIN' | 'ADMIT' | 'LEAVE' | 'SOLD_OUT' | 'CLOSE';
  ticket: string;
  sku: string;
  userId: string;
  qty: number;
  /** '' when the join named none. */
  orderId: string;
  /** The running sum of units up to this ticket; a lobby ticket's random draw in (-1, 0) before the shuffle. */
  place: number;
  /** Joined in the lobby, before startsAt. */
  lobby: boolean;
  joinedAt: number;
}

export type OutboxEvent = ReserveEvent | FinishEvent | ExtendEvent | SetEvent | AdjustEvent | MoveEvent | UnbindEvent | TicketEvent;

/** One stream entry: its id (for acknowledgement and idempotency), its events, and counters after them. */
export interface OutboxEntry {
  entryId: string;
  /**
   * The entry's id across every partition's stream: ids are unique within one stream only, and
   * two partitions write "<ms>-0" in the same millisecond. Partition 0 keeps the bare id.
   */
  eventKeyPrefix: string;
  events: OutboxEvent[];
  stock: StockSnapshot[];
}

function list<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

/** RESERVE, the bulk of the outbox, arrives as the text "<head>|<record>" (see reservationRecord.ts). */
function parseEvent(raw: Record<string, unknown> | string): OutboxEvent {
  if (typeof raw === 'string') {
    const { id, binding, record } = decodeReserveEvent(raw);
    const { createdAtMs, expiresAtMs, userId, orderId, lines } = record;
    return { type: 'RESERVE', at: createdAtMs, id, userId, orderId, createdAt: createdAtMs, expiresAt: expiresAtMs, items: lines, binding };
  }
  if ('lines' in raw) raw.lines = list(raw.lines);
  if ('locations' in raw) raw.locations = list(raw.locations);
  return raw as unknown as OutboxEvent;
}

/**
 * A snapshot as scripts write it (lua/includes/stockSnapshot.lua): [sku, total, available,
 * reserved, sold, version, location rows or false, epoch], the epoch last so that readers knowing
 * none read the rest as before; one written before the epoch (six or seven elements) counts in
 * epoch 0.
 */
function fromWire(snapshot: unknown[]): StockSnapshot {
  const [sku, total, available, reserved, sold, version, rows, epoch = 0] = snapshot as [string, number, number, number, number, number, LocationCounterRow[] | false | undefined, number?];
  return rows ? [sku, total, available, reserved, sold, version, epoch, rows] : [sku, total, available, reserved, sold, version, epoch];
}

export function parseEntry(entryId: string, json: string, partition = 0): OutboxEntry {
  const raw = JSON.parse(json);
  return {
    entryId,
    eventKeyPrefix: partition ? `p${partition}/${entryId}` : entryId,
    events: list<Record<string, unknown> | string>(raw.events).map(parseEvent),
    stock: list<unknown[]>(raw.stock).map(fromWire),
  };
}

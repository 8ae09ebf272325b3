/**
 * The outbox events the Lua scripts append (field `e` of each stream entry, JSON), as the
 * reconciler reads them. Lua's cjson writes an empty array as `{}`, hence `list()`.
 */

/** [sku, total, available, reserved, sold, version] after the change. */
export type StockSnapshot = [string, number, number, number, number, number];
/** [reservationId, sku, units]. */
export type HoldLine = [string, string, number];

interface Base {
  at: number;
  stock: StockSnapshot[];
}

export interface ReserveEvent extends Base {
  type: 'RESERVE';
  id: string;
  userId: string;
  orderId: string;
  createdAt: number;
  expiresAt: number;
  /** [sku, qty, reserved] in request order. */
  items: [string, number, number][];
}

export interface FinishEvent extends Base {
  type: 'COMMIT' | 'RELEASE' | 'EXPIRE';
  /** Set when one reservation ended; sweeps of many holds carry only lines. */
  id?: string;
  lines: HoldLine[];
}

export interface ExtendEvent {
  type: 'EXTEND';
  at: number;
  id: string;
  expiresAt: number;
  stock?: undefined;
}

export interface SetEvent extends Base {
  type: 'SET';
  sku: string;
  delta: number;
  actor: string;
  perUserLimit?: number;
  startsAt?: number;
  endsAt?: number;
}

export interface AdjustEvent extends Base {
  type: 'ADJUST';
  sku: string;
  delta: number;
  reason: string;
  actor: string;
}

export type OutboxEvent = ReserveEvent | FinishEvent | ExtendEvent | SetEvent | AdjustEvent;

/** One stream entry: its id (for acknowledgement and idempotency) and its event. */
export interface OutboxEntry {
  entryId: string;
  event: OutboxEvent;
}

function list<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

export function parseEvent(json: string): OutboxEvent {
  const raw = JSON.parse(json);
  if ('stock' in raw) raw.stock = list(raw.stock);
  if ('lines' in raw) raw.lines = list(raw.lines);
  if ('items' in raw) raw.items = list(raw.items);
  return raw as OutboxEvent;
}

/** Reservation types and the pure rules around them (no I/O). */
import { DomainError } from './errors';
import { parseBucketSku } from './buckets';

export const RESERVATION_STATUSES = ['PENDING', 'COMMITTED', 'RELEASED', 'EXPIRED'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];
/** A reservation that ended, and how. */
export type FinalStatus = Exclude<ReservationStatus, 'PENDING'>;
export const LINE_STATUSES = ['RESERVED', 'BACKORDERED'] as const;
export type LineStatus = (typeof LINE_STATUSES)[number];

/** A SKU created with a plain total keeps its units in this one location. */
export const DEFAULT_LOCATION = 'default';

export interface RequestedLine {
  sku: string;
  qty: number;
  /** Take the units from this location only; without one the engine chooses (see takeUnits.lua). */
  location?: string;
}

/** Units of a line held in one location. */
export interface Allocation {
  location: string;
  reserved: number;
}

export interface ReservationLine {
  sku: string;
  qty: number;
  reserved: number;
  backordered: number;
  status: LineStatus;
  /** Where the reserved units are held. */
  allocations: Allocation[];
}

export interface Reservation {
  id: string;
  status: ReservationStatus;
  userId: string;
  /** Null for a cart hold made before any order exists. */
  orderId: string | null;
  items: ReservationLine[];
  createdAt: string;
  expiresAt: string;
}

export const MAX_QTY = 10_000;
export const MAX_LINES = 50;
/** extend never moves expiresAt more than this past createdAt. */
export const MAX_LIFETIME_SECONDS = 3600;

/**
 * Lines naming the same SKU and the same location (or none) become one line with the quantities
 * summed, in order of first appearance. A merged quantity may exceed MAX_QTY: requests go through
 * mergeLinesWithinMaxQty.
 */
export function mergeLines(lines: readonly RequestedLine[]): RequestedLine[] {
  const merged = new Map<string, RequestedLine>();
  for (const line of lines) {
    // "|" appears in neither a SKU nor a location (validated).
    const key = line.location === undefined ? line.sku : `${line.sku}|${line.location}`;
    const seen = merged.get(key);
    if (seen) seen.qty += line.qty;
    else merged.set(key, { ...line });
  }
  return [...merged.values()];
}

/**
 * The lines a request is answered for: merged (see mergeLines), then refused with VALIDATION_FAILED
 * when a merged quantity exceeds MAX_QTY, since the schema can only bound each line alone.
 */
export function mergeLinesWithinMaxQty(lines: RequestedLine[]): RequestedLine[] {
  // One line has nothing to merge with; skipping the copy keeps the common case cheap.
  const merged = lines.length > 1 ? mergeLines(lines) : lines;
  const oversized = merged.find((line) => line.qty > MAX_QTY);
  if (oversized) {
    throw new DomainError('VALIDATION_FAILED', `Lines of SKU ${oversized.sku} add up to more than ${MAX_QTY} units.`, { sku: oversized.sku });
  }
  return merged;
}

/** A line as answered; `allocations` null: held on a SKU without locations, so in its one, "default". */
export function toLine(sku: string, qty: number, reserved: number, allocations: Allocation[] | null): ReservationLine {
  const backordered = qty - reserved;
  return {
    // A bucket's line reads as the SKU's own (src/domain/buckets.ts).
    sku: parseBucketSku(sku).sku,
    qty,
    reserved,
    backordered,
    status: backordered > 0 ? 'BACKORDERED' : 'RESERVED',
    allocations: allocations ?? (reserved > 0 ? [{ location: DEFAULT_LOCATION, reserved }] : []),
  };
}

/** Status as a reader sees it: a pending reservation past its expiry reads EXPIRED. */
export function readStatus(stored: ReservationStatus, expiresAtMs: number, nowMs: number): ReservationStatus {
  return stored === 'PENDING' && nowMs >= expiresAtMs ? 'EXPIRED' : stored;
}

/**
 * The reservation record's text, as lua/includes/reservationRecord.lua writes it:
 *   "<status>|<createdAt ms>|<lifetime ms>|<finishedAt ms or empty>|<userId>|<orderId>|<lines>"
 * lifetime = expiresAt - createdAt; lines "sku|qty|reserved" joined by ",", reserved being a units
 * text (holdUnits.ts: where the units are held when the SKU has locations); an empty orderId is
 * none. RESERVE outbox events carry "<head>|<record>", the head being the reservation id, plus its
 * Idempotency-Key binding when it has one (idempotencyBinding.ts). Read here for the reconciler
 * and cold start; only the scripts change records on a live engine.
 */
import { type Allocation, type Reservation, type ReservationStatus, readStatus, toLine } from '../domain/reservation';
import { decodeHoldUnits, encodeHoldUnits } from './holdUnits';
import { type IdempotencyBinding, decodeEventHead } from './idempotencyBinding';

/** The status letters of the record text (lua/includes/reservationRecord.lua reads the same). */
export const LETTER_OF_STATUS = { PENDING: 'P', COMMITTED: 'C', RELEASED: 'R', EXPIRED: 'E' } as const satisfies Record<ReservationStatus, string>;
const STATUS_OF_LETTER = Object.fromEntries(Object.entries(LETTER_OF_STATUS).map(([status, letter]) => [letter, status])) as Record<string, ReservationStatus>;

export interface ReservationRecord {
  status: ReservationStatus;
  createdAtMs: number;
  expiresAtMs: number;
  /** Empty while the hold is pending. */
  finishedAt: string;
  userId: string;
  orderId: string | null;
  lines: [sku: string, qty: number, reserved: number, allocations: Allocation[] | null][];
}

export function encodeReservationRecord(record: ReservationRecord): string {
  const lines = record.lines.map(([sku, qty, units, allocations]) => `${sku}|${qty}|${encodeHoldUnits({ units, allocations })}`).join(',');
  const lifetime = record.expiresAtMs - record.createdAtMs;
  return [LETTER_OF_STATUS[record.status], record.createdAtMs, lifetime, record.finishedAt, record.userId, record.orderId ?? '', lines].join('|');
}

export function decodeReservationRecord(text: string): ReservationRecord {
  const [letter, createdAt, lifetime, finishedAt, userId, orderId, ...rest] = text.split('|');
  const status = STATUS_OF_LETTER[letter];
  if (!status) throw new Error(`unknown reservation status letter "${letter}" in record "${text}"`);
  const lines = rest
    .join('|')
    .split(',')
    .map((line): ReservationRecord['lines'][number] => {
      const [sku, qty, reserved] = line.split('|');
      const { units, allocations } = decodeHoldUnits(reserved);
      return [sku, Number(qty), units, allocations];
    });
  const createdAtMs = Number(createdAt);
  return { status, createdAtMs, expiresAtMs: createdAtMs + Number(lifetime), finishedAt, userId, orderId: orderId || null, lines };
}

/** The reservation a record stands for, as a reader at `nowMs` (Redis time) sees it. */
export function reservationOf(id: string, record: ReservationRecord, nowMs: number): Reservation {
  return {
    id,
    status: readStatus(record.status, record.expiresAtMs, nowMs),
    userId: record.userId,
    orderId: record.orderId,
    items: record.lines.map(([sku, qty, reserved, allocations]) => toLine(sku, qty, reserved, allocations)),
    createdAt: new Date(record.createdAtMs).toISOString(),
    expiresAt: new Date(record.expiresAtMs).toISOString(),
  };
}

/** A RESERVE outbox event: the reservation id (and binding), then the record as the reserve script wrote it. */
export function decodeReserveEvent(text: string): { id: string; binding?: IdempotencyBinding; record: ReservationRecord } {
  const split = text.indexOf('|');
  return { ...decodeEventHead(text.slice(0, split)), record: decodeReservationRecord(text.slice(split + 1)) };
}

/**
 * The reservation record's text, as lua/includes/reservationRecord.lua writes it:
 *   "<status>|<createdAt ms>|<lifetime ms>|<finishedAt ms or empty>|<userId>|<orderId>|<lines>"
 * lifetime = expiresAt - createdAt; lines "sku|qty|reserved" joined by ","; an empty orderId is
 * none. RESERVE outbox events carry "<head>|<record>", the head being the reservation id, plus its
 * Idempotency-Key binding when it has one (idempotencyBinding.ts). Read here for the reconciler
 * and cold start; only the scripts change records on a live engine.
 */
import { type IdempotencyBinding, decodeEventHead } from './idempotencyBinding';

export interface ReservationRecord {
  status: string;
  createdAtMs: number;
  expiresAtMs: number;
  /** Empty while the hold is pending. */
  finishedAt: string;
  userId: string;
  orderId: string | null;
  lines: [sku: string, qty: number, reserved: number][];
}

/** Records written before lifetimes were stored hold expiresAt itself, which is never below createdAt. */
function expiresAtOf(createdAtMs: number, lifetimeOrExpiry: number): number {
  return lifetimeOrExpiry >= createdAtMs ? lifetimeOrExpiry : createdAtMs + lifetimeOrExpiry;
}

export function encodeReservationRecord(record: ReservationRecord): string {
  const lines = record.lines.map(([sku, qty, reserved]) => `${sku}|${qty}|${reserved}`).join(',');
  const lifetime = record.expiresAtMs - record.createdAtMs;
  return [record.status, record.createdAtMs, lifetime, record.finishedAt, record.userId, record.orderId ?? '', lines].join('|');
}

export function decodeReservationRecord(text: string): ReservationRecord {
  const [status, createdAt, lifetime, finishedAt, userId, orderId, ...rest] = text.split('|');
  const lines = rest
    .join('|')
    .split(',')
    .map((line): [string, number, number] => {
      const [sku, qty, reserved] = line.split('|');
      return [sku, Number(qty), Number(reserved)];
    });
  const createdAtMs = Number(createdAt);
  return { status, createdAtMs, expiresAtMs: expiresAtOf(createdAtMs, Number(lifetime)), finishedAt, userId, orderId: orderId || null, lines };
}

/** A RESERVE outbox event: the reservation id (and binding), then the record as the reserve script wrote it. */
export function decodeReserveEvent(text: string): { id: string; binding?: IdempotencyBinding; record: ReservationRecord } {
  const split = text.indexOf('|');
  return { ...decodeEventHead(text.slice(0, split)), record: decodeReservationRecord(text.slice(split + 1)) };
}

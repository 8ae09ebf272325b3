/**
 * Waiting lines (docs/api.md#waiting-lines-fair-queues-for-hot-skus): a fair queue in front of a
 * hot SKU. Types and limits; no I/O.
 */
import { DomainError } from './errors';
import { RESERVATION_ID_PATTERN } from './ids';
import type { Reservation } from './reservation';

/** A SKU's line as PUT or PATCH sets it. */
export interface LineSettings {
  /** The hold an admitted shopper gets; null: the engine's RESERVATION_TTL_SECONDS. */
  holdTtlSeconds: number | null;
  /** How long before startsAt the line opens (its lobby). */
  lobbySeconds: number;
}

/** The SKU view's `line`. */
export interface LineView {
  waiting: number;
  admitted: number;
  holdTtlSeconds: number;
  lobbySeconds: number;
}

export const TICKET_STATUSES = ['WAITING', 'ADMITTED', 'SOLD_OUT', 'LEFT', 'CLOSED'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export interface Ticket {
  id: string;
  sku: string;
  userId: string;
  qty: number;
  orderId: string | null;
  status: TicketStatus;
  /** 1 at the head, while WAITING after the lobby's shuffle; else null. */
  position: number | null;
  /** Units wanted by the tickets ahead, when `position` is set. */
  unitsAhead: number | null;
  /** Units of the SKU not yet sold. */
  unitsLeft: number;
  /** Joined before startsAt, and still waiting for the shuffle at startsAt. */
  lobby: boolean;
  joinedAt: string;
  /** When a polling client should ask again. */
  pollAfterMs: number;
  /** The PENDING reservation held for an ADMITTED ticket (as it now stands); else null. */
  reservation: Reservation | null;
}

export const LINE_LIMITS = { holdTtlSeconds: { minimum: 1, maximum: 3600 }, lobbySeconds: { minimum: 0, maximum: 86_400 } } as const;

/** How often a waiting client is told to poll: sooner near the head. */
export function pollAfterMs(ticket: Pick<Ticket, 'status' | 'position'>): number {
  if (ticket.status !== 'WAITING') return 0;
  if (ticket.position === null) return 5000;
  return ticket.position <= 100 ? 1000 : 2000;
}

/** Tickets one live-event stream may watch. */
export const MAX_WATCHED_TICKETS = 100;

/** The ticket ids a comma-separated list names, each once, in order: 1..MAX_WATCHED_TICKETS valid ids. */
export function parseTicketList(text: string): string[] {
  const ids = [...new Set(text.split(',').map((id) => id.trim()))];
  const pattern = new RegExp(RESERVATION_ID_PATTERN);
  const bad = ids.find((id) => !pattern.test(id));
  if (bad !== undefined) throw new DomainError('VALIDATION_FAILED', `"${bad}" is not a ticket id (${RESERVATION_ID_PATTERN}).`, { ticket: bad });
  if (ids.length > MAX_WATCHED_TICKETS) throw new DomainError('VALIDATION_FAILED', `At most ${MAX_WATCHED_TICKETS} tickets per stream.`, { count: ids.length });
  return ids;
}

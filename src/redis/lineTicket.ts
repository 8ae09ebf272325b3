import type { TicketStatus } from '../domain/line';

/**
 * A ticket as lua/includes/line.lua stores it in its partition's tickets hash:
 *   "<status>|<sku>|<userId>|<qty>|<orderId>|<joinedAt ms>|<lobby 1/0>|<place>|<at ms>"
 * status W waiting, A admitted, S sold out, L left, C closed. Its TypeScript codec.
 */
export interface TicketRecord {
  status: TicketStatus;
  sku: string;
  userId: string;
  qty: number;
  orderId: string | null;
  joinedAtMs: number;
  /** Joined in the lobby and not yet shuffled into place (its place is negative until then). */
  lobby: boolean;
  place: number;
  /** When it was admitted or ended; null while waiting. */
  atMs: number | null;
}

const LETTER_OF_STATUS: Record<TicketStatus, string> = { WAITING: 'W', ADMITTED: 'A', SOLD_OUT: 'S', LEFT: 'L', CLOSED: 'C' };
const STATUS_OF_LETTER = Object.fromEntries(Object.entries(LETTER_OF_STATUS).map(([status, letter]) => [letter, status])) as Record<string, TicketStatus>;

/**
 * The text of a ticket as a rebuild writes it back (the engine's writer is encodeTicket in
 * lua/includes/line.lua). `joinedInLobby` is the stored lobby flag, which decodeTicket does not
 * read back (a ticket's `lobby` there is whether it still waits for the shuffle).
 */
export function encodeTicket(ticket: Omit<TicketRecord, 'lobby'> & { joinedInLobby: boolean }): string {
  const { status, sku, userId, qty, orderId, joinedAtMs, joinedInLobby, place, atMs } = ticket;
  return [LETTER_OF_STATUS[status], sku, userId, qty, orderId ?? '', joinedAtMs, joinedInLobby ? 1 : 0, place, atMs ?? ''].join('|');
}

export function decodeTicket(text: string): TicketRecord {
  const [letter, sku, userId, qty, orderId, joinedAt, , place, at] = text.split('|');
  const status = STATUS_OF_LETTER[letter];
  if (!status) throw new Error(`not a ticket: ${text}`);
  return {
    status,
    sku,
    userId,
    qty: Number(qty),
    orderId: orderId || null,
    joinedAtMs: Number(joinedAt),
    lobby: Number(place) < 0,
    place: Number(place),
    atMs: at ? Number(at) : null,
  };
}

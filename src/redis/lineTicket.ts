import type { TicketStatus } from '../domain/line';

/**
 * A ticket as lua/includes/line.lua stores it in its partition's tickets hash:
 *   "<status>|<sku>|<userId>|<qty>|<orderId>|<joinedAt ms>|<lobby 1/0>|<place>|<at ms>"
 * status W waiting, A admitted, S sold out, L left, C closed. The one TypeScript reader of it.
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

const STATUS_OF_LETTER: Record<string, TicketStatus> = { W: 'WAITING', A: 'ADMITTED', S: 'SOLD_OUT', L: 'LEFT', C: 'CLOSED' };

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

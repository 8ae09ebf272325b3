import type { StoredTicket } from '../db/lineTicketRepository';
import { encodeTicket } from '../redis/lineTicket';

/** A SKU's line as a rebuild writes it back (lua/restore_sku.lua). */
export interface RestoredLine {
  /** [id, ticket text] of every ticket, in order of joining, each at its place in the line. */
  tickets: [string, string][];
  /** [userId, ticket id]: the users held to their tickets (none of a line removed since they joined). */
  users: [string, string][];
  /**
   * Stretches of places no known ticket fills (tickets whose join Postgres never learned): gone
   * members "lost@<start>|<units>" at the stretch's end, so units ahead stay those of real tickets.
   */
  gaps: [string, number][];
}

/**
 * Puts a SKU's tickets back at their places (lua/includes/line.lua: a place is the running sum of
 * units wanted up to the ticket). Tickets whose places Postgres holds keep them. A lobby ticket
 * still waiting is known only by its random draw when no event reached Postgres since the
 * shuffle; once the shuffle is due (`shuffled`: startsAt passed, or no sale window), the shuffle
 * gave such tickets, in draw order, the places no known ticket fills, from the lowest: so they
 * take those places again in that order, and whatever comes after them the places behind the
 * last one. Before the shuffle they wait at their draws. Places left free are units of tickets
 * Postgres never learned of (`gaps`).
 */
export function restoredLine(tickets: readonly StoredTicket[], shuffled: boolean): RestoredLine {
  const places = new Map(tickets.map((ticket) => [ticket.id, ticket.place]));
  const gaps: [string, number][] = [];
  const lose = (start: number, end: number) => {
    if (end > start && end !== Infinity) gaps.push([`lost@${start}|${end - start}`, end]);
  };
  const drawn = shuffled ? tickets.filter((ticket) => ticket.status === 'WAITING' && ticket.place < 0).sort((a, b) => a.place - b.place) : [];
  const free = freeStretches(tickets.filter((ticket) => ticket.place > 0));
  let stretch = 0;
  let at = free[0].start;
  for (const ticket of drawn) {
    while (at + ticket.qty > free[stretch].end) {
      lose(at, free[stretch].end);
      stretch += 1;
      at = free[stretch].start;
    }
    at += ticket.qty;
    places.set(ticket.id, at);
  }
  lose(at, free[stretch].end);
  for (const { start, end } of free.slice(stretch + 1)) lose(start, end);
  return {
    tickets: tickets.map(({ id, sku, userId, qty, orderId, status, joinedAtMs, lobby, atMs }) => [
      id,
      encodeTicket({ status, sku, userId, qty, orderId, joinedAtMs, joinedInLobby: lobby, place: places.get(id)!, atMs }),
    ]),
    users: tickets.filter((ticket) => !ticket.lineRemoved).map(({ userId, id }) => [userId, id]),
    gaps,
  };
}

/**
 * The places (start, end] no ticket of `placed` holds, in order; each ticket holds
 * (place - qty, place]. The last stretch never ends.
 */
function freeStretches(placed: readonly StoredTicket[]): { start: number; end: number }[] {
  const free: { start: number; end: number }[] = [];
  let cursor = 0;
  for (const { place, qty } of [...placed].sort((a, b) => a.place - b.place)) {
    if (place - qty > cursor) free.push({ start: cursor, end: place - qty });
    cursor = Math.max(cursor, place);
  }
  free.push({ start: cursor, end: Infinity });
  return free;
}

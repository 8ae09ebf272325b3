import type { Ticket } from '../domain/line';
import type { Reservation } from '../domain/reservation';
import type { SkuView } from '../domain/sku';
import type { Reservation as ReservationMessage } from './generated/flashsale/v1/Reservation';
import type { StockView } from './generated/flashsale/v1/StockView';
import type { Ticket as TicketMessage } from './generated/flashsale/v1/Ticket';

/** The engine's answers as messages: the same fields, with an unset field for JSON's null. */
export function reservationMessage(reservation: Reservation): ReservationMessage {
  return { ...reservation, orderId: reservation.orderId ?? undefined };
}

export function stockMessage(view: SkuView): StockView {
  return {
    ...view,
    perUserLimit: view.perUserLimit ?? undefined,
    startsAt: view.startsAt ?? undefined,
    endsAt: view.endsAt ?? undefined,
    line: view.line ?? undefined,
  };
}

/**
 * The largest int32. Every counter is capped well below it (a total at 1e9), but units wanted by a
 * line's tickets ahead are not (10,000 each): past it the field reads this, never a wrapped negative.
 */
const INT32_MAX = 2 ** 31 - 1;

export function ticketMessage(ticket: Ticket): TicketMessage {
  return {
    ...ticket,
    orderId: ticket.orderId ?? undefined,
    position: ticket.position ?? undefined,
    unitsAhead: ticket.unitsAhead === null ? undefined : Math.min(ticket.unitsAhead, INT32_MAX),
    reservation: ticket.reservation ? reservationMessage(ticket.reservation) : undefined,
  };
}

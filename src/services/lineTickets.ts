import type { DomainError } from '../domain/errors';
import type { Ticket } from '../domain/line';
import type { TicketOutcome } from '../redis/lineOperations';
import type { StockEngine } from '../redis/stockEngine';
import type { Reservations } from './reservations';

/**
 * Tickets as every interface answers them (HTTP, gRPC, the events stream's `?tickets=`): joined,
 * read and left in Redis, an admitted ticket's hold as its reservation is read, from Postgres once
 * Redis no longer keeps its record (retention passed, or Redis lost its data).
 */
export class LineTickets {
  constructor(
    private readonly engine: StockEngine,
    private readonly reservations: Reservations,
  ) {}

  /** The SOLD_OUT refusal of a join of a line seen sold out for good, told without a round trip; undefined when Redis must be asked. */
  knownRefusal(sku: string, userId: string, qty: number): DomainError | undefined {
    return this.engine.knownJoinRefusal(sku, userId, qty);
  }

  async join(sku: string, userId: string, qty: number, orderId: string | null): Promise<TicketOutcome> {
    return this.withHoldOf(await this.engine.joinLine(sku, userId, qty, orderId));
  }

  /** The ticket now; null when it is unknown. */
  async read(id: string): Promise<Ticket | null> {
    const ticket = await this.engine.getTicket(id);
    return ticket && this.withHold(ticket);
  }

  async leave(id: string): Promise<TicketOutcome> {
    return this.withHoldOf(await this.engine.leaveLine(id));
  }

  private async withHoldOf(outcome: TicketOutcome): Promise<TicketOutcome> {
    return { ...outcome, ticket: await this.withHold(outcome.ticket) };
  }

  private async withHold(ticket: Ticket): Promise<Ticket> {
    if (ticket.status !== 'ADMITTED' || ticket.reservation) return ticket;
    return { ...ticket, reservation: await this.reservations.recorded(ticket.id) };
  }
}

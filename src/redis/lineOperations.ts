import { randomInt } from 'node:crypto';
import type { DomainError } from '../domain/errors';
import { newReservationId } from '../domain/ids';
import { type Ticket, pollAfterMs } from '../domain/line';
import { lineNotFound, purchaseLimitExceeded, saleNotActive, skuNotFound, soldOut, ticketNotFound } from '../domain/refusals';
import { IN_DOUBT } from './inDoubt';
import { decodeTicket } from './lineTicket';
import { allPartitions } from './partitions';
import type { RedisStore } from './redisStore';
import { ReplyCode, refusal } from './replyCodes';
import type { ReservationOperations } from './reservationOperations';
import { Batcher } from './reserveBatcher';
import { type JoinArgument, lineJoinCall, lineTicketCall } from './scriptCalls';
import type { SoldOutWatch } from './soldOutWatch';

type Reply = (string | number)[];

/** A ticket answer, and whether this call made (or ended) it. */
export interface TicketOutcome {
  ticket: Ticket;
  changed: boolean;
}

/** How many distinct draws the lobby shuffle picks from (uniform in [0, 1) at this resolution). */
const DRAW_RANGE = 2 ** 47;
/** Joins of one partition folded into one script call at most. */
const MAX_JOIN_BATCH = 128;

/**
 * Waiting lines: joining (folded per partition into one script call, each join decided as if
 * alone), reading and leaving a ticket (lua/line_join.lua, lua/line_ticket.lua).
 * Admission itself runs inside the scripts that make units available (lua/includes/line.lua).
 */
export class LineOperations {
  /** Per partition, the batcher that folds its joins into one script call, like reserves (reserveBatcher.ts). */
  private readonly joinBatchers: Batcher<JoinArgument, Reply>[];

  constructor(
    private readonly store: RedisStore,
    private readonly reservations: ReservationOperations,
    private readonly soldOut: SoldOutWatch,
  ) {
    this.joinBatchers = allPartitions(store.keys.partitions).map(() => new Batcher<JoinArgument, Reply>((joins) => this.joinMany(joins), MAX_JOIN_BATCH));
  }

  /**
   * The SOLD_OUT refusal of a join of a line seen sold out for good (soldOutWatch.ts), told without
   * a round trip; undefined when Redis must be asked. 503 while its partition is lost.
   */
  knownRefusal(sku: string, userId: string, qty: number): DomainError | undefined {
    this.store.assertServing(this.store.keys.partitionOfSku(sku));
    return this.soldOut.joinRefusal(sku, userId, qty);
  }

  async join(sku: string, userId: string, qty: number, orderId: string | null): Promise<TicketOutcome> {
    const partition = this.store.keys.partitionOfSku(sku);
    const refused = this.knownRefusal(sku, userId, qty);
    if (refused) throw refused;
    // The ticket's id is a reservation id homed in the SKU's partition: an admitted ticket's hold takes it.
    const reply = await this.joinBatchers[partition].submit({ sku, ticketId: newReservationId(partition), userId, qty, orderId, draw: randomInt(DRAW_RANGE) / DRAW_RANGE });
    switch (reply[0]) {
      case ReplyCode.Ok:
      case ReplyCode.Repeated:
        return { ticket: await this.ticketOf(String(reply[5]), reply), changed: reply[0] === ReplyCode.Ok };
      case ReplyCode.SkuNotFound:
        await this.store.confirmNotFound(partition);
        throw skuNotFound(sku);
      case ReplyCode.LineNotFound:
        throw lineNotFound(sku);
      case ReplyCode.SaleNotActive:
        throw saleNotActive({ sku });
      case ReplyCode.SoldOut:
        this.soldOut.learnJoin(sku);
        throw soldOut(sku, Number(reply[1]));
      case ReplyCode.PurchaseLimitExceeded:
        throw purchaseLimitExceeded({ sku, requested: qty, alreadyHeld: reply[1], limit: reply[2] });
      default:
        throw refusal(reply[0] as ReplyCode);
    }
  }

  /** One call of lua/line_join.lua for the joins of one partition that arrived in one event-loop turn. */
  private joinMany(joins: JoinArgument[]): Promise<Reply[]> {
    const partition = this.store.keys.partitionOfSku(joins[0].sku);
    return this.store.run<Reply[]>(lineJoinCall(this.store, partition, joins), { consequence: IN_DOUBT.join });
  }

  /** Lined SKUs of a partition with an admitted hold whose time ran out by `beforeMs`. */
  dueLines(partition: number, beforeMs: number, limit: number): Promise<string[]> {
    return this.store.call((client) => client.zrangebyscore(this.store.keys.lineDue(partition), '-inf', beforeMs, 'LIMIT', 0, limit));
  }

  /** Reads a ticket (null: unknown). */
  async read(id: string): Promise<Ticket | null> {
    const reply = await this.ticketCall(id, false);
    return reply && this.ticketOf(id, reply);
  }

  /** Leaves the line; `changed` is false when the ticket was no longer waiting. */
  async leave(id: string): Promise<TicketOutcome> {
    const reply = await this.ticketCall(id, true);
    if (!reply) throw ticketNotFound(id);
    return { ticket: await this.ticketOf(id, reply), changed: reply[0] === ReplyCode.Ok };
  }

  private async ticketCall(id: string, leave: boolean): Promise<Reply | null> {
    const partition = this.store.keys.partitionOfTicket(id);
    this.store.assertServing(partition);
    const reply = await this.store.run<Reply>(lineTicketCall(this.store, id, leave), { consequence: leave ? IN_DOUBT.finish : IN_DOUBT.read });
    if (reply[0] !== ReplyCode.TicketNotFound) return reply;
    await this.store.confirmNotFound(partition);
    return null;
  }

  /** The ticket a line script answered with ({code, ticket text, position, units ahead, unitsLeft, id}; lua/includes/ticketReply.lua). */
  private async ticketOf(id: string, reply: Reply): Promise<Ticket> {
    const record = decodeTicket(String(reply[1]));
    const position = reply[2] === '' ? null : Number(reply[2]);
    const status = record.status;
    const reservation = status === 'ADMITTED' ? await this.reservations.getReservation(id) : null;
    return {
      id,
      sku: record.sku,
      userId: record.userId,
      qty: record.qty,
      orderId: record.orderId,
      status,
      position,
      unitsAhead: reply[3] === '' ? null : Number(reply[3]),
      unitsLeft: Number(reply[4]),
      lobby: status === 'WAITING' && record.lobby,
      joinedAt: new Date(record.joinedAtMs).toISOString(),
      pollAfterMs: pollAfterMs({ status, position }),
      reservation,
    };
  }
}

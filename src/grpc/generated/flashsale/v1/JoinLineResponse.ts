// Original file: proto/flashsale/v1/inventory.proto

import type { Ticket as _flashsale_v1_Ticket, Ticket__Output as _flashsale_v1_Ticket__Output } from '../../flashsale/v1/Ticket';

/**
 * The answer of JoinLine.
 */
export interface JoinLineResponse {
  /**
   * The ticket.
   */
  'ticket'?: (_flashsale_v1_Ticket | null);
  /**
   * A new ticket (HTTP 202); false: the ticket the user already had (HTTP 200).
   */
  'joined'?: (boolean);
}

/**
 * The answer of JoinLine.
 */
export interface JoinLineResponse__Output {
  /**
   * The ticket.
   */
  'ticket'?: (_flashsale_v1_Ticket__Output);
  /**
   * A new ticket (HTTP 202); false: the ticket the user already had (HTTP 200).
   */
  'joined'?: (boolean);
}

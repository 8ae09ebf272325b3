// Original file: proto/flashsale/v1/inventory.proto

import type { Ticket as _flashsale_v1_Ticket, Ticket__Output as _flashsale_v1_Ticket__Output } from '../../flashsale/v1/Ticket';

/**
 * The answer of GetTicket.
 */
export interface GetTicketResponse {
  /**
   * The ticket as it stands now.
   */
  'ticket'?: (_flashsale_v1_Ticket | null);
}

/**
 * The answer of GetTicket.
 */
export interface GetTicketResponse__Output {
  /**
   * The ticket as it stands now.
   */
  'ticket'?: (_flashsale_v1_Ticket__Output);
}

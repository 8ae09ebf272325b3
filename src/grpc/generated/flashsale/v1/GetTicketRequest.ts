// Original file: proto/flashsale/v1/inventory.proto


/**
 * The request of GetTicket.
 */
export interface GetTicketRequest {
  /**
   * The ticket.
   */
  'ticketId'?: (string);
}

/**
 * The request of GetTicket.
 */
export interface GetTicketRequest__Output {
  /**
   * The ticket.
   */
  'ticketId'?: (string);
}

// Original file: proto/flashsale/v1/inventory.proto


/**
 * The request of LeaveLine.
 */
export interface LeaveLineRequest {
  /**
   * The ticket.
   */
  'ticketId'?: (string);
}

/**
 * The request of LeaveLine.
 */
export interface LeaveLineRequest__Output {
  /**
   * The ticket.
   */
  'ticketId'?: (string);
}

// Original file: proto/flashsale/v1/inventory.proto

import type { Ticket as _flashsale_v1_Ticket, Ticket__Output as _flashsale_v1_Ticket__Output } from '../../flashsale/v1/Ticket';

/**
 * The answer of LeaveLine.
 */
export interface LeaveLineResponse {
  /**
   * The ticket: LEFT, or as it stands when it no longer waited.
   */
  'ticket'?: (_flashsale_v1_Ticket | null);
  /**
   * This call ended it LEFT; false: it was no longer waiting, and nothing changed.
   */
  'left'?: (boolean);
}

/**
 * The answer of LeaveLine.
 */
export interface LeaveLineResponse__Output {
  /**
   * The ticket: LEFT, or as it stands when it no longer waited.
   */
  'ticket'?: (_flashsale_v1_Ticket__Output);
  /**
   * This call ended it LEFT; false: it was no longer waiting, and nothing changed.
   */
  'left'?: (boolean);
}

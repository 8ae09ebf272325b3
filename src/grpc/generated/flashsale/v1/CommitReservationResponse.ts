// Original file: proto/flashsale/v1/inventory.proto

import type { Reservation as _flashsale_v1_Reservation, Reservation__Output as _flashsale_v1_Reservation__Output } from '../../flashsale/v1/Reservation';

/**
 * The answer of CommitReservation.
 */
export interface CommitReservationResponse {
  /**
   * The reservation, COMMITTED.
   */
  'reservation'?: (_flashsale_v1_Reservation | null);
}

/**
 * The answer of CommitReservation.
 */
export interface CommitReservationResponse__Output {
  /**
   * The reservation, COMMITTED.
   */
  'reservation'?: (_flashsale_v1_Reservation__Output);
}

// Original file: proto/flashsale/v1/inventory.proto

import type { Reservation as _flashsale_v1_Reservation, Reservation__Output as _flashsale_v1_Reservation__Output } from '../../flashsale/v1/Reservation';

/**
 * The answer of ReleaseReservation.
 */
export interface ReleaseReservationResponse {
  /**
   * The reservation, RELEASED (or EXPIRED when its time had already run out).
   */
  'reservation'?: (_flashsale_v1_Reservation | null);
}

/**
 * The answer of ReleaseReservation.
 */
export interface ReleaseReservationResponse__Output {
  /**
   * The reservation, RELEASED (or EXPIRED when its time had already run out).
   */
  'reservation'?: (_flashsale_v1_Reservation__Output);
}

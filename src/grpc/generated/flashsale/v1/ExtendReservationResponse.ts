// Original file: proto/flashsale/v1/inventory.proto

import type { Reservation as _flashsale_v1_Reservation, Reservation__Output as _flashsale_v1_Reservation__Output } from '../../flashsale/v1/Reservation';

/**
 * The answer of ExtendReservation.
 */
export interface ExtendReservationResponse {
  /**
   * The reservation with its new expires_at.
   */
  'reservation'?: (_flashsale_v1_Reservation | null);
}

/**
 * The answer of ExtendReservation.
 */
export interface ExtendReservationResponse__Output {
  /**
   * The reservation with its new expires_at.
   */
  'reservation'?: (_flashsale_v1_Reservation__Output);
}

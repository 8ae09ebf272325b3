// Original file: proto/flashsale/v1/inventory.proto

import type { Reservation as _flashsale_v1_Reservation, Reservation__Output as _flashsale_v1_Reservation__Output } from '../../flashsale/v1/Reservation';

/**
 * The answer of GetReservation.
 */
export interface GetReservationResponse {
  /**
   * The reservation, as it stands.
   */
  'reservation'?: (_flashsale_v1_Reservation | null);
}

/**
 * The answer of GetReservation.
 */
export interface GetReservationResponse__Output {
  /**
   * The reservation, as it stands.
   */
  'reservation'?: (_flashsale_v1_Reservation__Output);
}

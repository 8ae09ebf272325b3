// Original file: proto/flashsale/v1/inventory.proto


/**
 * The request of ExtendReservation.
 */
export interface ExtendReservationRequest {
  /**
   * The reservation.
   */
  'reservationId'?: (string);
  /**
   * The new hold from now, 1..3600 seconds.
   */
  'ttlSeconds'?: (number);
}

/**
 * The request of ExtendReservation.
 */
export interface ExtendReservationRequest__Output {
  /**
   * The reservation.
   */
  'reservationId'?: (string);
  /**
   * The new hold from now, 1..3600 seconds.
   */
  'ttlSeconds'?: (number);
}

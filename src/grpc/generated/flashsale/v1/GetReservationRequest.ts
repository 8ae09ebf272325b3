// Original file: proto/flashsale/v1/inventory.proto


/**
 * The request of GetReservation.
 */
export interface GetReservationRequest {
  /**
   * The reservation.
   */
  'reservationId'?: (string);
}

/**
 * The request of GetReservation.
 */
export interface GetReservationRequest__Output {
  /**
   * The reservation.
   */
  'reservationId'?: (string);
}

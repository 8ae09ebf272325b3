// Original file: proto/flashsale/v1/inventory.proto


/**
 * The request of ReleaseReservation.
 */
export interface ReleaseReservationRequest {
  /**
   * The reservation.
   */
  'reservationId'?: (string);
}

/**
 * The request of ReleaseReservation.
 */
export interface ReleaseReservationRequest__Output {
  /**
   * The reservation.
   */
  'reservationId'?: (string);
}

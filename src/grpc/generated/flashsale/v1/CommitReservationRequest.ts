// Original file: proto/flashsale/v1/inventory.proto


/**
 * The request of CommitReservation.
 */
export interface CommitReservationRequest {
  /**
   * The reservation.
   */
  'reservationId'?: (string);
}

/**
 * The request of CommitReservation.
 */
export interface CommitReservationRequest__Output {
  /**
   * The reservation.
   */
  'reservationId'?: (string);
}

// Original file: proto/flashsale/v1/inventory.proto

import type { Reservation as _flashsale_v1_Reservation, Reservation__Output as _flashsale_v1_Reservation__Output } from '../../flashsale/v1/Reservation';

/**
 * The answer of ReserveStock.
 */
export interface ReserveStockResponse {
  /**
   * The reservation made, or the one the idempotency key already made, in its current state.
   */
  'reservation'?: (_flashsale_v1_Reservation | null);
  /**
   * The idempotency key had already produced this reservation: nothing was held this time.
   */
  'replayed'?: (boolean);
}

/**
 * The answer of ReserveStock.
 */
export interface ReserveStockResponse__Output {
  /**
   * The reservation made, or the one the idempotency key already made, in its current state.
   */
  'reservation'?: (_flashsale_v1_Reservation__Output);
  /**
   * The idempotency key had already produced this reservation: nothing was held this time.
   */
  'replayed'?: (boolean);
}

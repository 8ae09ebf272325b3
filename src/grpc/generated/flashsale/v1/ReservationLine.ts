// Original file: proto/flashsale/v1/inventory.proto

import type { Allocation as _flashsale_v1_Allocation, Allocation__Output as _flashsale_v1_Allocation__Output } from '../../flashsale/v1/Allocation';

/**
 * One line of a reservation.
 */
export interface ReservationLine {
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * Units asked for.
   */
  'qty'?: (number);
  /**
   * Units held.
   */
  'reserved'?: (number);
  /**
   * qty - reserved.
   */
  'backordered'?: (number);
  /**
   * RESERVED or BACKORDERED.
   */
  'status'?: (string);
  /**
   * Where the reserved units are held.
   */
  'allocations'?: (_flashsale_v1_Allocation)[];
}

/**
 * One line of a reservation.
 */
export interface ReservationLine__Output {
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * Units asked for.
   */
  'qty'?: (number);
  /**
   * Units held.
   */
  'reserved'?: (number);
  /**
   * qty - reserved.
   */
  'backordered'?: (number);
  /**
   * RESERVED or BACKORDERED.
   */
  'status'?: (string);
  /**
   * Where the reserved units are held.
   */
  'allocations': (_flashsale_v1_Allocation__Output)[];
}

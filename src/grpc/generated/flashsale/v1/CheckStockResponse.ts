// Original file: proto/flashsale/v1/inventory.proto

import type { LineAvailability as _flashsale_v1_LineAvailability, LineAvailability__Output as _flashsale_v1_LineAvailability__Output } from '../../flashsale/v1/LineAvailability';

/**
 * The answer of CheckStock.
 */
export interface CheckStockResponse {
  /**
   * The line's availability.
   */
  'item'?: (_flashsale_v1_LineAvailability | null);
}

/**
 * The answer of CheckStock.
 */
export interface CheckStockResponse__Output {
  /**
   * The line's availability.
   */
  'item'?: (_flashsale_v1_LineAvailability__Output);
}

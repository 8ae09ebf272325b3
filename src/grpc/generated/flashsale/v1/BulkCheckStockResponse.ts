// Original file: proto/flashsale/v1/inventory.proto

import type { LineAvailability as _flashsale_v1_LineAvailability, LineAvailability__Output as _flashsale_v1_LineAvailability__Output } from '../../flashsale/v1/LineAvailability';

/**
 * The answer of BulkCheckStock.
 */
export interface BulkCheckStockResponse {
  /**
   * Every line could be held.
   */
  'ok'?: (boolean);
  /**
   * One per line, lines of one SKU and location merged.
   */
  'items'?: (_flashsale_v1_LineAvailability)[];
}

/**
 * The answer of BulkCheckStock.
 */
export interface BulkCheckStockResponse__Output {
  /**
   * Every line could be held.
   */
  'ok'?: (boolean);
  /**
   * One per line, lines of one SKU and location merged.
   */
  'items': (_flashsale_v1_LineAvailability__Output)[];
}

// Original file: proto/flashsale/v1/inventory.proto

import type { StockLine as _flashsale_v1_StockLine, StockLine__Output as _flashsale_v1_StockLine__Output } from '../../flashsale/v1/StockLine';

/**
 * The request of BulkCheckStock.
 */
export interface BulkCheckStockRequest {
  /**
   * 1..50 lines.
   */
  'items'?: (_flashsale_v1_StockLine)[];
}

/**
 * The request of BulkCheckStock.
 */
export interface BulkCheckStockRequest__Output {
  /**
   * 1..50 lines.
   */
  'items': (_flashsale_v1_StockLine__Output)[];
}

// Original file: proto/flashsale/v1/inventory.proto

import type { StockLine as _flashsale_v1_StockLine, StockLine__Output as _flashsale_v1_StockLine__Output } from '../../flashsale/v1/StockLine';

/**
 * The request of CheckStock.
 */
export interface CheckStockRequest {
  /**
   * The line to check.
   */
  'item'?: (_flashsale_v1_StockLine | null);
}

/**
 * The request of CheckStock.
 */
export interface CheckStockRequest__Output {
  /**
   * The line to check.
   */
  'item'?: (_flashsale_v1_StockLine__Output);
}

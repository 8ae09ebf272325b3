// Original file: proto/flashsale/v1/inventory.proto

import type { StockView as _flashsale_v1_StockView, StockView__Output as _flashsale_v1_StockView__Output } from '../../flashsale/v1/StockView';

/**
 * The answer of UpdateStock.
 */
export interface UpdateStockResponse {
  /**
   * The SKU view after the change.
   */
  'stock'?: (_flashsale_v1_StockView | null);
  /**
   * The SKU did not exist before.
   */
  'created'?: (boolean);
}

/**
 * The answer of UpdateStock.
 */
export interface UpdateStockResponse__Output {
  /**
   * The SKU view after the change.
   */
  'stock'?: (_flashsale_v1_StockView__Output);
  /**
   * The SKU did not exist before.
   */
  'created'?: (boolean);
}

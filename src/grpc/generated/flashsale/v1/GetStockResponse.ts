// Original file: proto/flashsale/v1/inventory.proto

import type { StockView as _flashsale_v1_StockView, StockView__Output as _flashsale_v1_StockView__Output } from '../../flashsale/v1/StockView';

/**
 * The answer of GetStock.
 */
export interface GetStockResponse {
  /**
   * The SKU view.
   */
  'stock'?: (_flashsale_v1_StockView | null);
}

/**
 * The answer of GetStock.
 */
export interface GetStockResponse__Output {
  /**
   * The SKU view.
   */
  'stock'?: (_flashsale_v1_StockView__Output);
}

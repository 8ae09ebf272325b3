// Original file: proto/flashsale/v1/inventory.proto


/**
 * The request of GetStock.
 */
export interface GetStockRequest {
  /**
   * The SKU.
   */
  'sku'?: (string);
}

/**
 * The request of GetStock.
 */
export interface GetStockRequest__Output {
  /**
   * The SKU.
   */
  'sku'?: (string);
}

// Original file: proto/flashsale/v1/inventory.proto


/**
 * The request of JoinLine.
 */
export interface JoinLineRequest {
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * The shopper.
   */
  'userId'?: (string);
  /**
   * Units wanted, 1..10000, within the SKU's per-user limit.
   */
  'qty'?: (number);
  /**
   * The order; unset: none yet.
   */
  'orderId'?: (string);
  '_orderId'?: "orderId";
}

/**
 * The request of JoinLine.
 */
export interface JoinLineRequest__Output {
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * The shopper.
   */
  'userId'?: (string);
  /**
   * Units wanted, 1..10000, within the SKU's per-user limit.
   */
  'qty'?: (number);
  /**
   * The order; unset: none yet.
   */
  'orderId'?: (string);
}

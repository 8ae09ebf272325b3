// Original file: proto/flashsale/v1/inventory.proto

import type { StockLine as _flashsale_v1_StockLine, StockLine__Output as _flashsale_v1_StockLine__Output } from '../../flashsale/v1/StockLine';

/**
 * The request of ReserveStock.
 */
export interface ReserveStockRequest {
  /**
   * The shopper.
   */
  'userId'?: (string);
  /**
   * The order; unset: a cart holds stock before any order exists.
   */
  'orderId'?: (string);
  /**
   * 1..50 lines.
   */
  'items'?: (_flashsale_v1_StockLine)[];
  /**
   * How long the hold lasts, 1..3600 seconds; unset: RESERVATION_TTL_SECONDS.
   */
  'ttlSeconds'?: (number);
  /**
   * Hold what each line can (short lines BACKORDERED) instead of all or nothing.
   */
  'allowPartial'?: (boolean);
  '_orderId'?: "orderId";
  '_ttlSeconds'?: "ttlSeconds";
}

/**
 * The request of ReserveStock.
 */
export interface ReserveStockRequest__Output {
  /**
   * The shopper.
   */
  'userId'?: (string);
  /**
   * The order; unset: a cart holds stock before any order exists.
   */
  'orderId'?: (string);
  /**
   * 1..50 lines.
   */
  'items': (_flashsale_v1_StockLine__Output)[];
  /**
   * How long the hold lasts, 1..3600 seconds; unset: RESERVATION_TTL_SECONDS.
   */
  'ttlSeconds'?: (number);
  /**
   * Hold what each line can (short lines BACKORDERED) instead of all or nothing.
   */
  'allowPartial'?: (boolean);
}

// Original file: proto/flashsale/v1/inventory.proto


/**
 * Units of one SKU asked for.
 */
export interface StockLine {
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * Units, 1..10000.
   */
  'qty'?: (number);
  /**
   * Only this location; without one the first location that can hold the whole line, else the
   * line spread over locations in priority order.
   */
  'location'?: (string);
  '_location'?: "location";
}

/**
 * Units of one SKU asked for.
 */
export interface StockLine__Output {
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * Units, 1..10000.
   */
  'qty'?: (number);
  /**
   * Only this location; without one the first location that can hold the whole line, else the
   * line spread over locations in priority order.
   */
  'location'?: (string);
}

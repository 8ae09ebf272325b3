// Original file: proto/flashsale/v1/inventory.proto


/**
 * The counters of one location of a SKU.
 */
export interface LocationStock {
  /**
   * The location.
   */
  'location'?: (string);
  /**
   * False for a location left out of the last UpdateStock: it keeps what is held and sold there
   * and takes no new holds.
   */
  'active'?: (boolean);
  /**
   * available + reserved + sold.
   */
  'total'?: (number);
  /**
   * Units that can be held.
   */
  'available'?: (number);
  /**
   * Units held by pending reservations.
   */
  'reserved'?: (number);
  /**
   * Units of committed reservations.
   */
  'sold'?: (number);
}

/**
 * The counters of one location of a SKU.
 */
export interface LocationStock__Output {
  /**
   * The location.
   */
  'location'?: (string);
  /**
   * False for a location left out of the last UpdateStock: it keeps what is held and sold there
   * and takes no new holds.
   */
  'active'?: (boolean);
  /**
   * available + reserved + sold.
   */
  'total'?: (number);
  /**
   * Units that can be held.
   */
  'available'?: (number);
  /**
   * Units held by pending reservations.
   */
  'reserved'?: (number);
  /**
   * Units of committed reservations.
   */
  'sold'?: (number);
}

// Original file: proto/flashsale/v1/inventory.proto


/**
 * Units of a reservation line held in one location.
 */
export interface Allocation {
  /**
   * The location.
   */
  'location'?: (string);
  /**
   * Units held there.
   */
  'reserved'?: (number);
}

/**
 * Units of a reservation line held in one location.
 */
export interface Allocation__Output {
  /**
   * The location.
   */
  'location'?: (string);
  /**
   * Units held there.
   */
  'reserved'?: (number);
}

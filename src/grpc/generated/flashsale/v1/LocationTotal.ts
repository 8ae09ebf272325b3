// Original file: proto/flashsale/v1/inventory.proto


/**
 * A location's total as UpdateStock sets it.
 */
export interface LocationTotal {
  /**
   * The location.
   */
  'location'?: (string);
  /**
   * Its units, 0..1000000000.
   */
  'total'?: (number);
}

/**
 * A location's total as UpdateStock sets it.
 */
export interface LocationTotal__Output {
  /**
   * The location.
   */
  'location'?: (string);
  /**
   * Its units, 0..1000000000.
   */
  'total'?: (number);
}

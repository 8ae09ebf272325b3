// Original file: proto/flashsale/v1/inventory.proto


/**
 * Whether one line could be held now.
 */
export interface LineAvailability {
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * The location the line named, if it named one.
   */
  'location'?: (string);
  /**
   * Units asked for (merged lines summed).
   */
  'qty'?: (number);
  /**
   * Units that could be held now (0 for an unknown SKU).
   */
  'available'?: (number);
  /**
   * available >= qty.
   */
  'ok'?: (boolean);
  '_location'?: "location";
}

/**
 * Whether one line could be held now.
 */
export interface LineAvailability__Output {
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * The location the line named, if it named one.
   */
  'location'?: (string);
  /**
   * Units asked for (merged lines summed).
   */
  'qty'?: (number);
  /**
   * Units that could be held now (0 for an unknown SKU).
   */
  'available'?: (number);
  /**
   * available >= qty.
   */
  'ok'?: (boolean);
}

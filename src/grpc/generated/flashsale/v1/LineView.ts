// Original file: proto/flashsale/v1/inventory.proto


/**
 * A SKU's waiting line as its view shows it.
 */
export interface LineView {
  /**
   * Tickets waiting.
   */
  'waiting'?: (number);
  /**
   * Tickets admitted so far.
   */
  'admitted'?: (number);
  /**
   * The hold an admitted shopper gets, in seconds.
   */
  'holdTtlSeconds'?: (number);
  /**
   * How long before starts_at the line opens, in seconds.
   */
  'lobbySeconds'?: (number);
}

/**
 * A SKU's waiting line as its view shows it.
 */
export interface LineView__Output {
  /**
   * Tickets waiting.
   */
  'waiting'?: (number);
  /**
   * Tickets admitted so far.
   */
  'admitted'?: (number);
  /**
   * The hold an admitted shopper gets, in seconds.
   */
  'holdTtlSeconds'?: (number);
  /**
   * How long before starts_at the line opens, in seconds.
   */
  'lobbySeconds'?: (number);
}

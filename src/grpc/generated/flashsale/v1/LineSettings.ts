// Original file: proto/flashsale/v1/inventory.proto


/**
 * A waiting line as UpdateStock sets it. While a SKU has one, ReserveStock naming it is refused
 * LINE_REQUIRED: shoppers join the line and are admitted in order as units come and go.
 */
export interface LineSettings {
  /**
   * The hold an admitted shopper gets, 1..3600 seconds; unset: RESERVATION_TTL_SECONDS.
   */
  'holdTtlSeconds'?: (number);
  /**
   * How long before starts_at the line opens, 0..86400 seconds; unset: 0. Tickets joined then
   * are shuffled at starts_at.
   */
  'lobbySeconds'?: (number);
  '_holdTtlSeconds'?: "holdTtlSeconds";
  '_lobbySeconds'?: "lobbySeconds";
}

/**
 * A waiting line as UpdateStock sets it. While a SKU has one, ReserveStock naming it is refused
 * LINE_REQUIRED: shoppers join the line and are admitted in order as units come and go.
 */
export interface LineSettings__Output {
  /**
   * The hold an admitted shopper gets, 1..3600 seconds; unset: RESERVATION_TTL_SECONDS.
   */
  'holdTtlSeconds'?: (number);
  /**
   * How long before starts_at the line opens, 0..86400 seconds; unset: 0. Tickets joined then
   * are shuffled at starts_at.
   */
  'lobbySeconds'?: (number);
}

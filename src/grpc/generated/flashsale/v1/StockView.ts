// Original file: proto/flashsale/v1/inventory.proto

import type { LocationStock as _flashsale_v1_LocationStock, LocationStock__Output as _flashsale_v1_LocationStock__Output } from '../../flashsale/v1/LocationStock';
import type { LineView as _flashsale_v1_LineView, LineView__Output as _flashsale_v1_LineView__Output } from '../../flashsale/v1/LineView';

/**
 * A SKU's stock: available + reserved + sold == total, none negative, each the sum of its
 * locations' counters.
 */
export interface StockView {
  /**
   * The SKU.
   */
  'sku'?: (string);
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
  /**
   * Units a user may hold plus have bought; unset: no limit.
   */
  'perUserLimit'?: (number);
  /**
   * Start of the sale window (RFC 3339); unset: open since ever.
   */
  'startsAt'?: (string);
  /**
   * End of the sale window, exclusive (RFC 3339); unset: open for ever.
   */
  'endsAt'?: (string);
  /**
   * Active locations first in priority order; a SKU created with a plain total has one, "default".
   */
  'locations'?: (_flashsale_v1_LocationStock)[];
  /**
   * The SKU's waiting line; unset: it has none.
   */
  'line'?: (_flashsale_v1_LineView | null);
  /**
   * Buckets its units are split over, each in its own partition (a hot SKU's reserves then run on
   * that many Redis cores); unset: one.
   */
  'buckets'?: (number);
  '_perUserLimit'?: "perUserLimit";
  '_startsAt'?: "startsAt";
  '_endsAt'?: "endsAt";
  '_buckets'?: "buckets";
}

/**
 * A SKU's stock: available + reserved + sold == total, none negative, each the sum of its
 * locations' counters.
 */
export interface StockView__Output {
  /**
   * The SKU.
   */
  'sku'?: (string);
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
  /**
   * Units a user may hold plus have bought; unset: no limit.
   */
  'perUserLimit'?: (number);
  /**
   * Start of the sale window (RFC 3339); unset: open since ever.
   */
  'startsAt'?: (string);
  /**
   * End of the sale window, exclusive (RFC 3339); unset: open for ever.
   */
  'endsAt'?: (string);
  /**
   * Active locations first in priority order; a SKU created with a plain total has one, "default".
   */
  'locations': (_flashsale_v1_LocationStock__Output)[];
  /**
   * The SKU's waiting line; unset: it has none.
   */
  'line'?: (_flashsale_v1_LineView__Output);
  /**
   * Buckets its units are split over, each in its own partition (a hot SKU's reserves then run on
   * that many Redis cores); unset: one.
   */
  'buckets'?: (number);
}

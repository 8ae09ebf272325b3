// Original file: proto/flashsale/v1/inventory.proto

import type { LocationTotal as _flashsale_v1_LocationTotal, LocationTotal__Output as _flashsale_v1_LocationTotal__Output } from '../../flashsale/v1/LocationTotal';
import type { LineSettings as _flashsale_v1_LineSettings, LineSettings__Output as _flashsale_v1_LineSettings__Output } from '../../flashsale/v1/LineSettings';

/**
 * The request of UpdateStock: either total or locations.
 */
export interface UpdateStockRequest {
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * All units, kept in the one location "default".
   */
  'total'?: (number);
  /**
   * 1..50 locations in priority order; one left out keeps its held and sold units and takes no
   * new holds.
   */
  'locations'?: (_flashsale_v1_LocationTotal)[];
  /**
   * Units a user may hold plus have bought; unset: no limit.
   */
  'perUserLimit'?: (number);
  /**
   * Start of the sale window (RFC 3339 with a zone); unset: open since ever.
   */
  'startsAt'?: (string);
  /**
   * End of the sale window, exclusive (RFC 3339 with a zone); unset: open for ever.
   */
  'endsAt'?: (string);
  /**
   * A waiting line in front of the SKU; unset: none (a line it had is removed, and its waiting
   * tickets end CLOSED).
   */
  'line'?: (_flashsale_v1_LineSettings | null);
  /**
   * 1..64 buckets to split the units over (see StockView.buckets); unset: one. Buckets only grow,
   * so an update of a split SKU names its count.
   */
  'buckets'?: (number);
  '_total'?: "total";
  '_perUserLimit'?: "perUserLimit";
  '_startsAt'?: "startsAt";
  '_endsAt'?: "endsAt";
  '_buckets'?: "buckets";
}

/**
 * The request of UpdateStock: either total or locations.
 */
export interface UpdateStockRequest__Output {
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * All units, kept in the one location "default".
   */
  'total'?: (number);
  /**
   * 1..50 locations in priority order; one left out keeps its held and sold units and takes no
   * new holds.
   */
  'locations': (_flashsale_v1_LocationTotal__Output)[];
  /**
   * Units a user may hold plus have bought; unset: no limit.
   */
  'perUserLimit'?: (number);
  /**
   * Start of the sale window (RFC 3339 with a zone); unset: open since ever.
   */
  'startsAt'?: (string);
  /**
   * End of the sale window, exclusive (RFC 3339 with a zone); unset: open for ever.
   */
  'endsAt'?: (string);
  /**
   * A waiting line in front of the SKU; unset: none (a line it had is removed, and its waiting
   * tickets end CLOSED).
   */
  'line'?: (_flashsale_v1_LineSettings__Output);
  /**
   * 1..64 buckets to split the units over (see StockView.buckets); unset: one. Buckets only grow,
   * so an update of a split SKU names its count.
   */
  'buckets'?: (number);
}

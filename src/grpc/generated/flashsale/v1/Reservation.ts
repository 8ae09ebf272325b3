// Original file: proto/flashsale/v1/inventory.proto

import type { ReservationLine as _flashsale_v1_ReservationLine, ReservationLine__Output as _flashsale_v1_ReservationLine__Output } from '../../flashsale/v1/ReservationLine';

/**
 * A reservation as a reader sees it now.
 */
export interface Reservation {
  /**
   * Its id.
   */
  'id'?: (string);
  /**
   * PENDING, COMMITTED, RELEASED or EXPIRED (a pending one past expires_at reads EXPIRED).
   */
  'status'?: (string);
  /**
   * The shopper.
   */
  'userId'?: (string);
  /**
   * The order; unset for a cart hold.
   */
  'orderId'?: (string);
  /**
   * Its lines, lines of one SKU and location merged.
   */
  'items'?: (_flashsale_v1_ReservationLine)[];
  /**
   * When it was made (RFC 3339).
   */
  'createdAt'?: (string);
  /**
   * When its hold ends (RFC 3339).
   */
  'expiresAt'?: (string);
  '_orderId'?: "orderId";
}

/**
 * A reservation as a reader sees it now.
 */
export interface Reservation__Output {
  /**
   * Its id.
   */
  'id'?: (string);
  /**
   * PENDING, COMMITTED, RELEASED or EXPIRED (a pending one past expires_at reads EXPIRED).
   */
  'status'?: (string);
  /**
   * The shopper.
   */
  'userId'?: (string);
  /**
   * The order; unset for a cart hold.
   */
  'orderId'?: (string);
  /**
   * Its lines, lines of one SKU and location merged.
   */
  'items': (_flashsale_v1_ReservationLine__Output)[];
  /**
   * When it was made (RFC 3339).
   */
  'createdAt'?: (string);
  /**
   * When its hold ends (RFC 3339).
   */
  'expiresAt'?: (string);
}

// Original file: proto/flashsale/v1/inventory.proto

import type { Reservation as _flashsale_v1_Reservation, Reservation__Output as _flashsale_v1_Reservation__Output } from '../../flashsale/v1/Reservation';

/**
 * A place in a SKU's waiting line, or how it ended.
 */
export interface Ticket {
  /**
   * Its id; an admitted ticket's reservation has the same id.
   */
  'id'?: (string);
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * The shopper.
   */
  'userId'?: (string);
  /**
   * Units wanted.
   */
  'qty'?: (number);
  /**
   * The order; unset when the join named none.
   */
  'orderId'?: (string);
  /**
   * WAITING, ADMITTED, SOLD_OUT (fewer units than it wants remain unsold), LEFT or CLOSED (the
   * line was removed or the sale ended).
   */
  'status'?: (string);
  /**
   * 1 at the head, while WAITING; unset otherwise, and in the lobby until starts_at.
   */
  'position'?: (number);
  /**
   * Units wanted by the tickets ahead, when position is set (at most 2147483647: more reads that).
   */
  'unitsAhead'?: (number);
  /**
   * Units of the SKU not yet sold.
   */
  'unitsLeft'?: (number);
  /**
   * Joined before starts_at and not yet shuffled into place.
   */
  'lobby'?: (boolean);
  /**
   * When it joined (RFC 3339).
   */
  'joinedAt'?: (string);
  /**
   * When a polling client should ask again, in milliseconds (0 once it no longer waits).
   */
  'pollAfterMs'?: (number);
  /**
   * The PENDING reservation held for an ADMITTED ticket, as it now stands; unset otherwise.
   */
  'reservation'?: (_flashsale_v1_Reservation | null);
  '_orderId'?: "orderId";
  '_position'?: "position";
  '_unitsAhead'?: "unitsAhead";
}

/**
 * A place in a SKU's waiting line, or how it ended.
 */
export interface Ticket__Output {
  /**
   * Its id; an admitted ticket's reservation has the same id.
   */
  'id'?: (string);
  /**
   * The SKU.
   */
  'sku'?: (string);
  /**
   * The shopper.
   */
  'userId'?: (string);
  /**
   * Units wanted.
   */
  'qty'?: (number);
  /**
   * The order; unset when the join named none.
   */
  'orderId'?: (string);
  /**
   * WAITING, ADMITTED, SOLD_OUT (fewer units than it wants remain unsold), LEFT or CLOSED (the
   * line was removed or the sale ended).
   */
  'status'?: (string);
  /**
   * 1 at the head, while WAITING; unset otherwise, and in the lobby until starts_at.
   */
  'position'?: (number);
  /**
   * Units wanted by the tickets ahead, when position is set (at most 2147483647: more reads that).
   */
  'unitsAhead'?: (number);
  /**
   * Units of the SKU not yet sold.
   */
  'unitsLeft'?: (number);
  /**
   * Joined before starts_at and not yet shuffled into place.
   */
  'lobby'?: (boolean);
  /**
   * When it joined (RFC 3339).
   */
  'joinedAt'?: (string);
  /**
   * When a polling client should ask again, in milliseconds (0 once it no longer waits).
   */
  'pollAfterMs'?: (number);
  /**
   * The PENDING reservation held for an ADMITTED ticket, as it now stands; unset otherwise.
   */
  'reservation'?: (_flashsale_v1_Reservation__Output);
}

import { DomainError } from '../domain/errors';
import {
  idempotencyInFlight,
  idempotencyKeyReused,
  insufficientStock,
  locationNotFound,
  purchaseLimitExceeded,
  reservationFinished,
  reservationNotFound,
  saleNotActive,
  skuNotFound,
  totalBelowCommitted,
} from '../domain/refusals';

/** Codes the Lua scripts return as the first element of their reply (see each script's header). */
export enum ReplyCode {
  Ok = 0,
  Repeated = 1,
  Expired = 2,
  SkuNotFound = -1,
  SaleNotActive = -2,
  PurchaseLimitExceeded = -3,
  InsufficientStock = -4,
  IdempotencyKeyReused = -5,
  ReservationNotFound = -6,
  ReservationExpired = -7,
  ReservationReleased = -8,
  ReservationCommitted = -9,
  TotalBelowCommitted = -10,
  VersionChanged = -11,
  FactsInconsistent = -12,
  TotalTooLarge = -13,
  IdempotencyInFlight = -14,
  LocationNotFound = -15,
  LocationRequired = -16,
  LineRequired = -17,
  SoldOut = -18,
  TicketNotFound = -19,
  LineNotFound = -20,
  /** A reserve's line named a bucket of a split SKU that is not its user's (src/services/bucketedReserves.ts). */
  WrongBucket = -21,
  /** A bucket of a split SKU with a line, other than its first, still holds units (lua/set_stock.lua, ARGV[21]). */
  BucketHolds = -22,
  /** A split SKU's bucket's total changed (a move, another write) since its write read it (lua/set_stock.lua, ARGV[22]). */
  BucketChanged = -23,
}

/** The one place a script's refusal code becomes the domain's error. */
export function refusal(code: ReplyCode, details?: unknown): DomainError {
  switch (code) {
    case ReplyCode.SkuNotFound:
      return skuNotFound((details as { sku: string }).sku);
    case ReplyCode.LocationNotFound: {
      const { sku, location } = details as { sku: string; location: string };
      return locationNotFound(sku, location);
    }
    case ReplyCode.SaleNotActive:
      return saleNotActive(details);
    case ReplyCode.PurchaseLimitExceeded:
      return purchaseLimitExceeded(details);
    case ReplyCode.InsufficientStock:
      return insufficientStock(details);
    case ReplyCode.IdempotencyKeyReused:
      return idempotencyKeyReused();
    case ReplyCode.IdempotencyInFlight:
      return idempotencyInFlight();
    case ReplyCode.ReservationNotFound:
      return reservationNotFound();
    case ReplyCode.ReservationExpired:
      return reservationFinished('EXPIRED');
    case ReplyCode.ReservationReleased:
      return reservationFinished('RELEASED');
    case ReplyCode.ReservationCommitted:
      return reservationFinished('COMMITTED');
    case ReplyCode.TotalBelowCommitted:
      return totalBelowCommitted(details);
    default:
      return new DomainError('INTERNAL', `unexpected script reply code ${code}`);
  }
}

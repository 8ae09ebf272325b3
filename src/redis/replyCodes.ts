import { DomainError } from '../domain/errors';

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
}

/** The one place a script's refusal code becomes an error the client sees. */
export function refusal(code: ReplyCode, details?: unknown): DomainError {
  switch (code) {
    case ReplyCode.SkuNotFound:
      return new DomainError('SKU_NOT_FOUND', 'No such SKU.', details);
    case ReplyCode.SaleNotActive:
      return new DomainError('SALE_NOT_ACTIVE', 'The sale of this SKU is not open now.', details);
    case ReplyCode.PurchaseLimitExceeded:
      return new DomainError('PURCHASE_LIMIT_EXCEEDED', 'This would exceed the per-user limit of the SKU.', details);
    case ReplyCode.InsufficientStock:
      return new DomainError('INSUFFICIENT_STOCK', 'Not enough stock; nothing was held.', details);
    case ReplyCode.IdempotencyKeyReused:
      return new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used with a different request body.',
        details,
      );
    case ReplyCode.ReservationNotFound:
      return new DomainError('RESERVATION_NOT_FOUND', 'No such reservation.', details);
    case ReplyCode.ReservationExpired:
      return new DomainError('RESERVATION_EXPIRED', 'The reservation expired; its units went back on sale.', details);
    case ReplyCode.ReservationReleased:
      return new DomainError('RESERVATION_RELEASED', 'The reservation was released.', details);
    case ReplyCode.ReservationCommitted:
      return new DomainError('RESERVATION_COMMITTED', 'The reservation is already committed.', details);
    case ReplyCode.TotalBelowCommitted:
      return new DomainError('TOTAL_BELOW_COMMITTED', 'total may not fall below reserved + sold.', details);
    default:
      return new DomainError('INTERNAL', `unexpected script reply code ${code}`);
  }
}

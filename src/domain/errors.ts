/** Every error code the API can answer with, and its HTTP status. */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  SKU_NOT_FOUND: 404,
  LOCATION_NOT_FOUND: 404,
  RESERVATION_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  LINE_NOT_FOUND: 404,
  TICKET_NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  INSUFFICIENT_STOCK: 409,
  SALE_NOT_ACTIVE: 409,
  PURCHASE_LIMIT_EXCEEDED: 409,
  IDEMPOTENCY_IN_FLIGHT: 409,
  RESERVATION_EXPIRED: 409,
  RESERVATION_RELEASED: 409,
  RESERVATION_COMMITTED: 409,
  TOTAL_BELOW_COMMITTED: 409,
  RECONCILE_IN_PROGRESS: 409,
  LINE_REQUIRED: 409,
  SOLD_OUT: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A refusal the client can act on; the HTTP layer turns it into the one error shape. */
export class DomainError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DomainError';
    this.status = ERROR_STATUS[code];
  }
}

/** What an unexpected failure answers (500), its cause kept for the log. */
export const INTERNAL_ERROR_MESSAGE = 'Internal error; nothing is known to have changed.';

/** What a client may conclude from a 503: by default that nothing changed. */
export const NOTHING_CHANGED = 'nothing was held or changed. Retry shortly';

/** Redis or Postgres could not be reached: the engine fails closed. */
export class UnavailableError extends DomainError {
  constructor(what: string, cause?: unknown, consequence = NOTHING_CHANGED) {
    super('UNAVAILABLE', `${what} is unavailable; ${consequence}.`);
    this.cause = cause;
  }
}

/** Redis lost its data (its data marker is gone): 503 until the engine rebuilt it from Postgres. */
export class RedisDataLostError extends UnavailableError {
  constructor() {
    super('Redis', undefined, 'it lost its data and the engine is rebuilding it from Postgres. Retry shortly');
  }
}

import { status } from '@grpc/grpc-js';
import type { ErrorCode } from '../domain/errors';

/**
 * The gRPC status of each error code of the API (docs/api.md#errors), decided once: the compiler makes
 * a new code take a place here. The code string itself travels with the status (errorDetails.ts).
 */
export const GRPC_STATUS_OF_ERROR: Record<ErrorCode, status> = {
  VALIDATION_FAILED: status.INVALID_ARGUMENT,
  INVALID_JSON: status.INVALID_ARGUMENT,
  UNSUPPORTED_MEDIA_TYPE: status.INVALID_ARGUMENT,
  UNAUTHORIZED: status.UNAUTHENTICATED,
  NOT_FOUND: status.NOT_FOUND,
  SKU_NOT_FOUND: status.NOT_FOUND,
  LOCATION_NOT_FOUND: status.NOT_FOUND,
  RESERVATION_NOT_FOUND: status.NOT_FOUND,
  WEBHOOK_NOT_FOUND: status.NOT_FOUND,
  LINE_NOT_FOUND: status.NOT_FOUND,
  TICKET_NOT_FOUND: status.NOT_FOUND,
  // A request over a size limit, as gRPC itself answers a message over its limit.
  PAYLOAD_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  // Only Node's HTTP parser raises these two: headers too large, or too slow to arrive.
  HEADERS_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  REQUEST_TIMEOUT: status.DEADLINE_EXCEEDED,
  // The state of the stock or the sale refuses it; retrying the same call will not help by itself.
  INSUFFICIENT_STOCK: status.FAILED_PRECONDITION,
  SALE_NOT_ACTIVE: status.FAILED_PRECONDITION,
  RESERVATION_EXPIRED: status.FAILED_PRECONDITION,
  RESERVATION_RELEASED: status.FAILED_PRECONDITION,
  RESERVATION_COMMITTED: status.FAILED_PRECONDITION,
  TOTAL_BELOW_COMMITTED: status.FAILED_PRECONDITION,
  // The user's limit per SKU.
  PURCHASE_LIMIT_EXCEEDED: status.RESOURCE_EXHAUSTED,
  IDEMPOTENCY_KEY_REUSED: status.ALREADY_EXISTS,
  // Another call with the same key, or another pass, is running now: retry the same call later.
  IDEMPOTENCY_IN_FLIGHT: status.ABORTED,
  RECONCILE_IN_PROGRESS: status.ABORTED,
  LINE_REQUIRED: status.FAILED_PRECONDITION,
  SOLD_OUT: status.FAILED_PRECONDITION,
  INTERNAL: status.INTERNAL,
  UNAVAILABLE: status.UNAVAILABLE,
};

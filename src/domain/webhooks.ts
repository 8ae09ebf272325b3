/** Webhook types and the pure rules around them (no I/O). */

export const WEBHOOK_EVENT_TYPES = [
  'reservation.created',
  'reservation.committed',
  'reservation.released',
  'reservation.expired',
  'stock.changed',
  'stock.sold_out',
  'stock.back_in_stock',
  'line.admitted',
  'line.sold_out',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** PENDING: to be (re)tried; DELIVERED: a 2xx came back; FAILED: still refused when its retry window closed. */
export const DELIVERY_STATES = ['PENDING', 'DELIVERED', 'FAILED'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export const WEBHOOK_ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
/** Long enough that it cannot be guessed; short enough to be a header-sized secret. */
export const MIN_SECRET_LENGTH = 16;
export const MAX_SECRET_LENGTH = 256;
export const MAX_URL_LENGTH = 2048;

/** An endpoint as the API shows it: never its secret. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  events: WebhookEventType[];
  createdAt: string;
  updatedAt: string;
}

/** What a receiver is sent (the body of each POST). */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  createdAt: string;
  data: unknown;
}

/** The header carrying the signature. */
export const SIGNATURE_HEADER = 'Flashsale-Signature';

/** Longest wait between two attempts, however many failed. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

/**
 * Wait before the attempt after `failedAttempts` failures: the base doubled per failure, capped at
 * MAX_RETRY_DELAY_MS, then "equal jitter" (half fixed, half random) so endpoints that failed
 * together do not come back in step. `random` is in [0, 1).
 */
export function retryDelayMs(failedAttempts: number, baseMs: number, random: number): number {
  const ceiling = Math.min(baseMs * 2 ** Math.max(0, failedAttempts - 1), MAX_RETRY_DELAY_MS);
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}

/**
 * Every refusal a client can act on, built in one place: routes throw these, and the Redis layer
 * turns a script's reply code into the same ones (src/redis/replyCodes.ts).
 */
import { DomainError, UnavailableError } from './errors';
import type { ReconcileReport } from './reconcile';
import type { FinalStatus } from './reservation';

export const skuNotFound = (sku: string) => new DomainError('SKU_NOT_FOUND', 'No such SKU.', { sku });

/** Several SKUs named at once (a live-event stream), some unknown. */
export const skusNotFound = (skus: string[]) => new DomainError('SKU_NOT_FOUND', skus.length === 1 ? 'No such SKU.' : 'No such SKUs.', { skus });

/** An adjust of a SKU with several active locations must name one (400: a missing field). */
export const locationRequired = (sku: string, locations: string[]) =>
  new DomainError('VALIDATION_FAILED', 'This SKU has several locations: name the one to adjust.', { sku, locations });

export const locationNotFound = (sku: string, location: string) =>
  new DomainError('LOCATION_NOT_FOUND', 'This SKU takes no holds in that location.', { sku, location });

export const saleNotActive = (details: unknown) => new DomainError('SALE_NOT_ACTIVE', 'The sale of this SKU is not open now.', details);

export const purchaseLimitExceeded = (details: unknown) =>
  new DomainError('PURCHASE_LIMIT_EXCEEDED', 'This would exceed the per-user limit of the SKU.', details);

export const insufficientStock = (details: unknown) => new DomainError('INSUFFICIENT_STOCK', 'Not enough stock; nothing was held.', details);

/** An adjust may take away only available units: held and sold ones stay. */
export const adjustBeyondAvailable = (details: unknown) =>
  new DomainError('INSUFFICIENT_STOCK', 'Fewer units are available than this would remove; nothing was changed.', details);

export const idempotencyKeyReused = () =>
  new DomainError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request body.');

export const idempotencyInFlight = () =>
  new DomainError('IDEMPOTENCY_IN_FLIGHT', 'A request with this Idempotency-Key is still running; retry it in a moment to learn its outcome.');

export const webhookNotFound = (id: string) => new DomainError('WEBHOOK_NOT_FOUND', 'No such webhook endpoint.', { id });

/** A new endpoint needs a secret; a replaced one keeps its own when none is given. */
export const webhookSecretRequired = () =>
  new DomainError('VALIDATION_FAILED', 'secret is required when creating a webhook endpoint (it signs every delivery).');

export const webhookUrlInvalid = (reason: string) => new DomainError('VALIDATION_FAILED', `url is not usable: ${reason}.`);

export const reservationNotFound = () => new DomainError('RESERVATION_NOT_FOUND', 'No such reservation.');

/** A SKU with a waiting line is reserved only through it. */
export const lineRequired = (sku: string) =>
  new DomainError('LINE_REQUIRED', 'This SKU has a waiting line: join it, and a hold is made for you when your turn comes.', { sku, join: `/v1/skus/${sku}/line` });

/**
 * A line runs in a split SKU's first bucket, and the other buckets sell nothing while it lasts
 * (src/services/splitSkuWrites.ts, writeLinedSplitSku): units held in one of them could only come back
 * out of the line's reach.
 */
export const lineBucketHolds = (sku: string, reserved: number) =>
  new DomainError(
    'VALIDATION_FAILED',
    'A split SKU takes a waiting line only while none of its units are held outside its first bucket, where the line runs: retry once the holds made without the line have ended, or set the line when creating the SKU.',
    { sku, reserved },
  );

export const lineNotFound = (sku: string) => new DomainError('LINE_NOT_FOUND', 'This SKU has no waiting line.', { sku });

export const ticketNotFound = (id: string) => new DomainError('TICKET_NOT_FOUND', 'No such ticket.', { id });

/** Several tickets named at once (a live-event stream), some unknown. */
export const ticketsNotFound = (tickets: string[]) => new DomainError('TICKET_NOT_FOUND', tickets.length === 1 ? 'No such ticket.' : 'No such tickets.', { tickets });

/** Fewer units than wanted remain unsold: nothing can ever come back to this request. */
export const soldOut = (sku: string, unitsLeft: number) => new DomainError('SOLD_OUT', 'Fewer units than wanted remain unsold.', { sku, unitsLeft });

export const totalBelowCommitted = (details: unknown) => new DomainError('TOTAL_BELOW_COMMITTED', 'total may not fall below reserved + sold.', details);

const FINISHED = {
  COMMITTED: () => new DomainError('RESERVATION_COMMITTED', 'The reservation is already committed.'),
  RELEASED: () => new DomainError('RESERVATION_RELEASED', 'The reservation was released.'),
  EXPIRED: () => new DomainError('RESERVATION_EXPIRED', 'The reservation expired; its units went back on sale.'),
} satisfies Record<FinalStatus, () => DomainError>;

/** A reservation that already ended this way cannot be acted on as asked. */
export const reservationFinished = (status: FinalStatus) => FINISHED[status]();

/** Postgres still holds a reservation as pending whose record Redis no longer keeps: its end is not drained yet. */
export const outcomeNotYetRecorded = () =>
  new UnavailableError('The outcome of this reservation', undefined, 'it is not yet recorded and nothing was changed. Retry shortly');

/** A reconciler pass asked for through the API stopped early: its report tells how far it got. */
export const passStoppedEarly = (report: ReconcileReport) => new DomainError('UNAVAILABLE', `The pass stopped early: ${report.error}`, { report });

export const reconcileInProgress = () =>
  new DomainError('RECONCILE_IN_PROGRESS', 'A reconciler pass is already running; try again when it has finished.');

/**
 * JSON schemas shared by the routes. The same objects validate requests, serialize responses
 * (fast-json-stringify) and generate /openapi.json.
 */
import { SKU_MOVEMENT_TYPES } from '../domain/movements';
import { DRIFT_FIELDS, RECONCILE_TRIGGERS } from '../domain/reconcile';
import { LINE_STATUSES, MAX_LINES, MAX_QTY, RESERVATION_STATUSES } from '../domain/reservation';
import { MAX_BUCKETS } from '../domain/buckets';
import { LOCATION_PATTERN, MAX_LOCATIONS, MAX_TOTAL, PARTY_ID_PATTERN, SKU_PATTERN } from '../domain/sku';
import { RESERVATION_ID_PATTERN } from '../domain/ids';
import { LINE_LIMITS, TICKET_STATUSES } from '../domain/line';
import { DELIVERY_STATES, MAX_SECRET_LENGTH, MAX_URL_LENGTH, MIN_SECRET_LENGTH, WEBHOOK_EVENT_TYPES, WEBHOOK_ID_PATTERN } from '../domain/webhooks';

const isoTime = { type: 'string', format: 'date-time' } as const;
const nullableIsoTime = { type: ['string', 'null'], format: 'date-time' } as const;
/** An input time: the `date-time` format of validation.ts (isStorableDateTime) checks it. */
const windowTime = {
  ...nullableIsoTime,
  description: 'RFC 3339 with a zone (T between date and time, at most 9 fraction digits, no leap second), from 1970-01-01 to 9999-12-31 UTC',
} as const;

export const skuId = { type: 'string', pattern: SKU_PATTERN, description: 'SKU identifier' } as const;
export const locationId = { type: 'string', pattern: LOCATION_PATTERN, description: 'Stock location (warehouse) identifier' } as const;
export const partyId = { type: 'string', pattern: PARTY_ID_PATTERN } as const;
export const quantity = { type: 'integer', minimum: 1, maximum: MAX_QTY } as const;

export const errorResponse = {
  type: 'object',
  additionalProperties: false,
  description: 'The one error shape of every route',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', example: 'INSUFFICIENT_STOCK' },
        message: { type: 'string' },
        details: {},
      },
    },
  },
} as const;

const counters = {
  total: { type: 'integer' },
  available: { type: 'integer' },
  reserved: { type: 'integer' },
  sold: { type: 'integer' },
} as const;

export const skuView = {
  type: 'object',
  additionalProperties: false,
  required: ['sku', 'total', 'available', 'reserved', 'sold', 'perUserLimit', 'startsAt', 'endsAt', 'locations', 'line'],
  properties: {
    sku: { type: 'string' },
    ...counters,
    perUserLimit: { type: ['integer', 'null'] },
    startsAt: nullableIsoTime,
    endsAt: nullableIsoTime,
    buckets: { type: 'integer', description: 'Buckets the units are split over (absent: one); the counters are their sums' },
    line: {
      type: ['object', 'null'],
      description: 'The SKU\'s waiting line (null: none): tickets waiting, tickets admitted so far, and its settings',
      additionalProperties: false,
      required: ['waiting', 'admitted', 'holdTtlSeconds', 'lobbySeconds'],
      properties: { waiting: { type: 'integer' }, admitted: { type: 'integer' }, holdTtlSeconds: { type: 'integer' }, lobbySeconds: { type: 'integer' } },
    },
    locations: {
      type: 'array',
      description:
        'Where the units are, active locations first in priority order; the SKU\'s counters are their sums. A SKU created with a plain total has one, "default". An inactive location was left out of the last PUT: it keeps what is held and sold there and takes no new holds; units its holds give back leave its total (available is always what a reserve can hold), and it leaves the list once nothing is held or sold there.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['location', 'active', 'total', 'available', 'reserved', 'sold'],
        properties: { location: { type: 'string' }, active: { type: 'boolean' }, ...counters },
      },
    },
  },
} as const;

export const reservationView = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'status', 'userId', 'orderId', 'items', 'createdAt', 'expiresAt'],
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: RESERVATION_STATUSES },
    userId: { type: 'string' },
    orderId: { type: ['string', 'null'] },
    items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'qty', 'reserved', 'backordered', 'status', 'allocations'],
        properties: {
          sku: { type: 'string' },
          qty: { type: 'integer' },
          reserved: { type: 'integer' },
          backordered: { type: 'integer' },
          status: { type: 'string', enum: LINE_STATUSES },
          allocations: {
            type: 'array',
            description: 'Where the reserved units are held: a SKU created with a plain total holds them in "default"',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['location', 'reserved'],
              properties: { location: { type: 'string' }, reserved: { type: 'integer' } },
            },
          },
        },
      },
    },
    createdAt: isoTime,
    expiresAt: isoTime,
  },
} as const;

export const lineItems = {
  type: 'array',
  minItems: 1,
  maxItems: MAX_LINES,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['sku', 'qty'],
    properties: {
      sku: skuId,
      qty: quantity,
      location: { ...locationId, description: 'Only this location; without one the first location holding the whole line, else spread in priority order' },
    },
  },
} as const;

export const reserveBody = {
  type: 'object',
  additionalProperties: false,
  required: ['userId', 'items'],
  properties: {
    userId: partyId,
    orderId: { ...partyId, description: 'Optional: a cart may hold stock before any order exists' },
    items: lineItems,
    ttlSeconds: { type: 'integer', minimum: 1, maximum: 3600, description: 'Default RESERVATION_TTL_SECONDS' },
    allowPartial: { type: 'boolean', default: false },
  },
} as const;

export const idempotencyHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      // Printable ASCII, space included: a key may be a phrase such as "cart 17 checkout 2".
      pattern: '^[\\x20-\\x7E]{1,255}$',
      description: '1..255 printable ASCII characters, space included; scoped to userId; kept at least 24 h',
    },
  },
} as const;

export const reservationParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: RESERVATION_ID_PATTERN } },
} as const;

export const skuParams = {
  type: 'object',
  additionalProperties: false,
  required: ['sku'],
  properties: { sku: skuId },
} as const;

export const extendBody = {
  type: 'object',
  additionalProperties: false,
  required: ['ttlSeconds'],
  properties: { ttlSeconds: { type: 'integer', minimum: 1, maximum: 3600 } },
} as const;

export const emptyBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {},
} as const;

export const availabilityBody = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: { items: lineItems },
} as const;

export const availabilityResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['ok', 'items'],
  properties: {
    ok: { type: 'boolean' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'qty', 'available', 'ok'],
        properties: {
          sku: { type: 'string' },
          location: { type: 'string', description: 'Present when the line named one' },
          qty: { type: 'integer' },
          available: { type: 'integer' },
          ok: { type: 'boolean' },
        },
      },
    },
  },
} as const;

const stockTotal = { type: 'integer', minimum: 0, maximum: MAX_TOTAL } as const;

/** A SKU's settings as PUT and PATCH name them; PUT adds its defaults. */
const skuSettingFields = {
  total: stockTotal,
  locations: {
    type: 'array',
    minItems: 1,
    maxItems: MAX_LOCATIONS,
    description: 'In priority order; a location left out keeps its held and sold units and takes no new holds, and what its holds give back leaves its total',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['location', 'total'],
      properties: { location: locationId, total: stockTotal },
    },
  },
  perUserLimit: { type: ['integer', 'null'], minimum: 1, maximum: MAX_TOTAL },
  startsAt: windowTime,
  endsAt: windowTime,
  buckets: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_BUCKETS,
    description:
      'Buckets the units are split over, each in its own partition (on a cluster, its own shard), so that the SKU\'s reserves run on that many Redis cores. A reserve takes units from one bucket (without a per-user limit, the one the engine fills this moment; with one, or with an Idempotency-Key, its user\'s), and looks in the others or has units moved to it when short; INSUFFICIENT_STOCK only when no bucket could hold the line. Buckets only grow; with a per-user limit they change only while nothing is held or sold, and a limit comes to a split SKU only while nothing of it is held or sold. A split SKU\'s locations are each split over the buckets, and its units move between buckets only within their location; its waiting line runs in its first bucket, which the others give their units (set only while no unit is held outside it, and not beside a per-user limit).',
  },
  line: {
    type: ['object', 'null'],
    additionalProperties: false,
    description:
      'A waiting line in front of the SKU (null: none; removing it ends the waiting tickets CLOSED). While it has one, a reserve naming the SKU answers 409 LINE_REQUIRED: shoppers join the line and are admitted in order as units come and go',
    properties: {
      holdTtlSeconds: { type: 'integer', ...LINE_LIMITS.holdTtlSeconds, description: 'The hold an admitted shopper gets (default RESERVATION_TTL_SECONDS)' },
      // No schema default: a PATCH naming the line's other field keeps this one (normalizeSkuSettings gives a PUT its 0).
      lobbySeconds: { type: 'integer', ...LINE_LIMITS.lobbySeconds, description: 'How long before startsAt the line opens (default 0); its tickets are shuffled at startsAt' },
    },
  },
} as const;

export const putSkuBody = {
  type: 'object',
  additionalProperties: false,
  description: 'Either total (one location, "default") or locations. Replaces the settings: a field left out returns to its default (null)',
  properties: {
    ...skuSettingFields,
    perUserLimit: { ...skuSettingFields.perUserLimit, default: null },
    startsAt: { ...windowTime, default: null },
    endsAt: { ...windowTime, default: null },
    line: { ...skuSettingFields.line, default: null },
  },
} as const;

export const ticketParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: RESERVATION_ID_PATTERN, description: 'Ticket id' } },
} as const;

export const joinLineBody = {
  type: 'object',
  additionalProperties: false,
  required: ['userId', 'qty'],
  properties: { userId: partyId, qty: quantity, orderId: { ...partyId, type: ['string', 'null'] } },
} as const;

export const ticketView = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'sku', 'userId', 'qty', 'orderId', 'status', 'position', 'unitsAhead', 'unitsLeft', 'lobby', 'joinedAt', 'pollAfterMs', 'reservation'],
  properties: {
    id: { type: 'string' },
    sku: { type: 'string' },
    userId: { type: 'string' },
    qty: { type: 'integer' },
    orderId: { type: ['string', 'null'] },
    status: { type: 'string', enum: TICKET_STATUSES },
    position: { type: ['integer', 'null'], description: '1 at the head, while WAITING (null in the lobby until startsAt)' },
    unitsAhead: { type: ['integer', 'null'], description: 'Units wanted by the tickets ahead' },
    unitsLeft: { type: 'integer', description: 'Units of the SKU not yet sold' },
    lobby: { type: 'boolean', description: 'Joined before startsAt: its place is drawn at random among the lobby, all ahead of later joins' },
    joinedAt: isoTime,
    pollAfterMs: { type: 'integer', description: 'When to ask again' },
    reservation: { anyOf: [{ type: 'null' }, reservationView], description: 'The PENDING reservation held for an ADMITTED ticket' },
  },
} as const;

export const patchSkuBody = {
  type: 'object',
  additionalProperties: false,
  description:
    'JSON merge patch of the settings: a field named changes, the others keep their values; null resets perUserLimit, startsAt or endsAt. total or locations replaces the stock (total only on a SKU without named locations)',
  properties: skuSettingFields,
} as const;

export const adjustBody = {
  type: 'object',
  additionalProperties: false,
  required: ['delta', 'reason'],
  properties: {
    delta: { type: 'integer', minimum: -MAX_TOTAL, maximum: MAX_TOTAL, not: { const: 0 } },
    location: { ...locationId, description: 'The active location to adjust; required when the SKU has several' },
    // Control characters (NUL above all) cannot be stored as Postgres text.
    reason: { type: 'string', minLength: 1, maxLength: 500, pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]+$' },
  },
} as const;

/** A list answer: `{ items: [...] }`. */
export const itemsOf = <const T extends object>(item: T) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', items: item } },
  }) as const;

export const skuListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { ...skuId, description: 'Start after this SKU name (the `next` of the previous page)' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    q: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$', description: 'Only SKUs whose name contains this (case-insensitive)' },
  },
} as const;

export const skuList = {
  type: 'object',
  additionalProperties: false,
  required: ['items', 'next'],
  properties: {
    items: { type: 'array', items: skuView },
    next: { type: ['string', 'null'], description: 'Pass as `after` for the next page; null on the last' },
  },
} as const;

export const deadLetterList = itemsOf({
  type: 'object',
  additionalProperties: false,
  required: ['partition', 'id', 'at', 'entryId', 'error', 'entry'],
  properties: {
    partition: { type: 'integer' },
    id: { type: 'string', description: 'Id in the dead-letter stream' },
    at: { ...isoTime, description: 'When the entry was moved there' },
    entryId: { type: 'string', description: 'Id the entry had in the outbox' },
    error: { type: 'string', description: 'What Postgres answered' },
    entry: { type: 'string', description: 'The entry as the script wrote it (JSON text)' },
  },
});

export const limitQuery = (max: number, fallback: number) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 1, maximum: max, default: fallback } },
  }) as const;

export const movementsResponse = itemsOf({
  type: 'object',
  additionalProperties: false,
  required: ['at', 'location', 'type', 'qty', 'reason', 'actor', 'reservationId'],
  properties: {
    at: isoTime,
    location: { type: 'string', description: 'Where the units moved ("default" on a SKU without locations)' },
    type: { type: 'string', enum: SKU_MOVEMENT_TYPES },
    qty: { type: 'integer' },
    reason: { type: ['string', 'null'] },
    actor: { type: ['string', 'null'] },
    reservationId: { type: ['string', 'null'] },
  },
});

/** Error responses a route may give, for the OpenAPI document. */
export function errors(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, errorResponse]));
}

/**
 * An onRoute hook: a route that takes a body may also be answered by the framework's own refusals,
 * 413 (over the body limit) and 415 (not JSON), and its OpenAPI entry lists them too.
 */
export function documentBodyRefusals(route: { schema?: { body?: unknown; response?: unknown } }): void {
  const { schema } = route;
  if (schema?.body && schema.response) schema.response = { ...(schema.response as object), ...errors(413, 415) };
}

type DocumentedBody = { required?: boolean; content?: Record<string, { schema?: { nullable?: boolean } }> };

/**
 * A `transformObject` of @fastify/swagger, which marks every request body required: a body whose
 * schema takes null (commit, release, a reconciler pass) may be left out, and the document says so.
 */
export function markOptionalBodies<Document extends { paths?: object }>(document: Document): Document {
  for (const operations of Object.values(document.paths ?? {}) as Record<string, { requestBody?: DocumentedBody }>[]) {
    for (const { requestBody } of Object.values(operations)) {
      const media = Object.values(requestBody?.content ?? {});
      if (requestBody && media.length && media.every(({ schema }) => schema?.nullable)) requestBody.required = false;
    }
  }
  return document;
}

export const reconcileBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { repair: { type: 'boolean', default: false, description: 'Rebuild the wrong side of any drift from the facts' } },
} as const;

export const reconcileReport = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'trigger', 'startedAt', 'finishedAt', 'expiredReleased', 'eventsWritten', 'drift', 'repaired'],
  properties: {
    id: { type: 'string' },
    trigger: { type: 'string', enum: RECONCILE_TRIGGERS },
    startedAt: isoTime,
    finishedAt: isoTime,
    expiredReleased: { type: 'integer', description: 'Expired holds whose units this pass returned' },
    eventsWritten: { type: 'integer', description: 'Outbox events written to Postgres' },
    drift: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'field', 'redis', 'postgres'],
        properties: {
          sku: { type: 'string' },
          location: { type: 'string', description: "Set when the counter is one location's, on a SKU with locations" },
          field: { type: 'string', enum: DRIFT_FIELDS },
          redis: { type: ['integer', 'null'] },
          postgres: { type: 'integer' },
          expected: { type: 'integer', description: 'What the facts in Postgres say' },
        },
      },
    },
    repaired: { type: 'boolean' },
    error: { type: 'string' },
  },
} as const;

export const webhookParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: WEBHOOK_ID_PATTERN, description: 'Endpoint identifier, chosen by the caller' } },
} as const;

export const putWebhookBody = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'events'],
  properties: {
    url: { type: 'string', maxLength: MAX_URL_LENGTH, pattern: '^https?://', description: 'Where each event is POSTed (http or https)' },
    events: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: WEBHOOK_EVENT_TYPES } },
    secret: {
      type: 'string',
      minLength: MIN_SECRET_LENGTH,
      maxLength: MAX_SECRET_LENGTH,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'Signs every delivery (Flashsale-Signature). Required to create; left out, a replaced endpoint keeps its own. Never returned',
    },
  },
} as const;

export const webhookEndpointView = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'url', 'events', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string', enum: WEBHOOK_EVENT_TYPES } },
    createdAt: isoTime,
    updatedAt: isoTime,
  },
} as const;

export const webhookList = itemsOf(webhookEndpointView);

export const deliveriesResponse = itemsOf({
  type: 'object',
  additionalProperties: false,
  required: ['eventId', 'type', 'eventCreatedAt', 'state', 'attempts', 'nextAttemptAt', 'deliveredAt'],
  properties: {
    eventId: { type: 'string' },
    type: { type: 'string', enum: WEBHOOK_EVENT_TYPES },
    eventCreatedAt: isoTime,
    state: { type: 'string', enum: DELIVERY_STATES, description: 'PENDING: to be retried; DELIVERED: a 2xx came back; FAILED: given up after the retry window' },
    attempts: {
      type: 'array',
      description: 'Every attempt, oldest first',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['attempt', 'at', 'durationMs', 'statusCode', 'error'],
        properties: {
          attempt: { type: 'integer' },
          at: isoTime,
          durationMs: { type: 'integer' },
          statusCode: { type: ['integer', 'null'], description: "The receiver's HTTP status; null when none came back" },
          error: { type: ['string', 'null'] },
        },
      },
    },
    nextAttemptAt: nullableIsoTime,
    deliveredAt: nullableIsoTime,
  },
});

/* eslint-disable @typescript-eslint/no-explicit-any -- messages are read field by field, as clients read JSON */
import { ERROR_STATUS, type ErrorCode } from '../src/domain/errors';
import { type InventoryCallOptions, type InventoryClientApi, InventoryCallError } from '../src/grpc/client';

/**
 * Routes of the HTTP API sent over gRPC instead (flashsale.v1.Inventory), answered as the same
 * HTTP call: a reservation or a SKU view in the JSON shape, a refusal as its HTTP status and error
 * body (from the flashsale-error-code trailer). A call the engine never answered (no connection,
 * the deadline passed) is status 0, as a fetch that failed. The chaos campaign and the model-based
 * test send part of their calls this way and hold both interfaces to one set of expectations.
 */

export interface HttpLikeAnswer {
  status: number;
  body: any;
}

/** A reservation message as the HTTP answer reads: unset fields (proto3 leaves 0 and null off) filled in. */
function reservationJson(message: any) {
  return {
    ...message,
    orderId: message.orderId ?? null,
    items: (message.items ?? []).map((item: any) => ({
      sku: item.sku,
      qty: item.qty ?? 0,
      reserved: item.reserved ?? 0,
      backordered: item.backordered ?? 0,
      status: item.status,
      allocations: (item.allocations ?? []).map((allocation: any) => ({ location: allocation.location, reserved: allocation.reserved ?? 0 })),
    })),
  };
}

const counters = (message: any) => ({ total: message.total ?? 0, available: message.available ?? 0, reserved: message.reserved ?? 0, sold: message.sold ?? 0 });

/** A SKU view message as the HTTP answer reads. */
function stockJson(message: any) {
  return {
    ...message,
    ...counters(message),
    perUserLimit: message.perUserLimit ?? null,
    startsAt: message.startsAt ?? null,
    endsAt: message.endsAt ?? null,
    line: message.line ? { waiting: 0, admitted: 0, lobbySeconds: 0, ...message.line } : null,
    locations: (message.locations ?? []).map((level: any) => ({ ...level, ...counters(level), active: level.active ?? false })),
  };
}

/** The HTTP body of a PUT as UpdateStock's request: JSON's null is proto3's unset. */
const updateStockRequest = (sku: string, body: any) => ({
  sku,
  total: body.total,
  locations: body.locations,
  perUserLimit: body.perUserLimit ?? undefined,
  startsAt: body.startsAt ?? undefined,
  endsAt: body.endsAt ?? undefined,
  line: body.line ?? undefined,
  buckets: body.buckets,
});

interface GrpcRoute {
  method: string;
  path: RegExp;
  send(client: InventoryClientApi, id: string, body: any, options: InventoryCallOptions): Promise<HttpLikeAnswer>;
}

const ROUTES: GrpcRoute[] = [
  { method: 'POST', path: /^\/v1\/reservations$/, send: async (client, _id, body, options) => ({ status: 201, body: reservationJson((await client.reserveStock(body, options)).reservation) }) },
  {
    method: 'GET',
    path: /^\/v1\/reservations\/([^/]+)$/,
    send: async (client, reservationId, _body, options) => ({ status: 200, body: reservationJson((await client.getReservation({ reservationId }, options)).reservation) }),
  },
  {
    method: 'POST',
    path: /^\/v1\/reservations\/([^/]+)\/commit$/,
    send: async (client, reservationId, _body, options) => ({ status: 200, body: reservationJson((await client.commitReservation({ reservationId }, options)).reservation) }),
  },
  {
    method: 'POST',
    path: /^\/v1\/reservations\/([^/]+)\/release$/,
    send: async (client, reservationId, _body, options) => ({ status: 200, body: reservationJson((await client.releaseReservation({ reservationId }, options)).reservation) }),
  },
  {
    method: 'POST',
    path: /^\/v1\/reservations\/([^/]+)\/extend$/,
    send: async (client, reservationId, body, options) => ({
      status: 200,
      body: reservationJson((await client.extendReservation({ reservationId, ttlSeconds: body?.ttlSeconds }, options)).reservation),
    }),
  },
  { method: 'GET', path: /^\/v1\/skus\/([^/]+)$/, send: async (client, sku, _body, options) => ({ status: 200, body: stockJson((await client.getStock({ sku }, options)).stock) }) },
  {
    method: 'PUT',
    path: /^\/v1\/admin\/skus\/([^/]+)$/,
    send: async (client, sku, body, options) => {
      const answer = await client.updateStock(updateStockRequest(sku, body), options);
      return { status: answer.created ? 201 : 200, body: stockJson(answer.stock) };
    },
  },
];

function routeOf(method: string, path: string): { route: GrpcRoute; id: string } | undefined {
  for (const route of ROUTES) {
    const match = route.method === method ? route.path.exec(path) : null;
    if (match) return { route, id: decodeURIComponent(match[1] ?? '') };
  }
  return undefined;
}

/** Whether an HTTP call has a gRPC equivalent here. */
export function carriedOverGrpc(method: string, path: string): boolean {
  return routeOf(method, path) !== undefined;
}

/**
 * Sends an HTTP call that carriedOverGrpc over gRPC, and answers as HTTP would. The client carries
 * the tokens: its admin token goes with UpdateStock.
 */
export async function callOverGrpc(client: InventoryClientApi, method: string, path: string, body: any, options: { idempotencyKey?: string; timeoutMs: number }): Promise<HttpLikeAnswer> {
  const { route, id } = routeOf(method, path)!;
  try {
    return await route.send(client, id, body, { idempotencyKey: options.idempotencyKey, deadline: new Date(Date.now() + options.timeoutMs) });
  } catch (error) {
    if (!(error instanceof InventoryCallError)) throw error;
    const status = ERROR_STATUS[error.errorCode as ErrorCode];
    // No code from the engine: grpc-js itself failed the call.
    if (status === undefined) return { status: 0, body: null };
    return { status, body: { error: { code: error.errorCode, message: error.message, details: error.details } } };
  }
}

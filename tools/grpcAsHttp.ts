/* eslint-disable @typescript-eslint/no-explicit-any -- messages are read field by field, as clients read JSON */
import { ERROR_STATUS, type ErrorCode } from '../src/domain/errors';
import { type InventoryClientApi, InventoryCallError } from '../src/grpc/client';

/**
 * The reservation routes of the HTTP API sent over gRPC instead (flashsale.v1.Inventory), answered
 * as the same HTTP call: a reservation in the JSON shape, a refusal as its HTTP status and error
 * body (from the flashsale-error-code trailer). A call the engine never answered (no connection,
 * the deadline passed) is status 0, as a fetch that failed. The chaos campaign and the model-based
 * test send part of their calls this way and hold both interfaces to one set of expectations.
 */

/** `/v1/reservations[/:id[/commit|release|extend]]`. */
const RESERVATION_ROUTE = /^\/v1\/reservations(?:\/([^/]+)(?:\/(commit|release|extend))?)?$/;

export interface HttpLikeAnswer {
  status: number;
  body: any;
}

/** Whether an HTTP call has a gRPC equivalent here. */
export function carriedOverGrpc(method: string, path: string): boolean {
  const route = RESERVATION_ROUTE.exec(path);
  if (!route) return false;
  const [, id, action] = route;
  return method === 'POST' ? id === undefined || action !== undefined : method === 'GET' && id !== undefined && action === undefined;
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

/** Sends an HTTP call that carriedOverGrpc over gRPC, and answers as HTTP would. */
export async function callOverGrpc(client: InventoryClientApi, method: string, path: string, body: any, options: { idempotencyKey?: string; timeoutMs: number }): Promise<HttpLikeAnswer> {
  const callOptions = { idempotencyKey: options.idempotencyKey, deadline: new Date(Date.now() + options.timeoutMs) };
  const [, reservationId, action] = RESERVATION_ROUTE.exec(path)!;
  try {
    if (!reservationId) {
      const answer = await client.reserveStock(body, callOptions);
      return { status: 201, body: reservationJson(answer.reservation) };
    }
    const reservation =
      action === 'commit'
        ? (await client.commitReservation({ reservationId }, callOptions)).reservation
        : action === 'release'
          ? (await client.releaseReservation({ reservationId }, callOptions)).reservation
          : action === 'extend'
            ? (await client.extendReservation({ reservationId, ttlSeconds: body?.ttlSeconds }, callOptions)).reservation
            : (await client.getReservation({ reservationId }, callOptions)).reservation;
    return { status: 200, body: reservationJson(reservation) };
  } catch (error) {
    if (!(error instanceof InventoryCallError)) throw error;
    const status = ERROR_STATUS[error.errorCode as ErrorCode];
    // No code from the engine: grpc-js itself failed the call.
    if (status === undefined) return { status: 0, body: null };
    return { status, body: { error: { code: error.errorCode, message: error.message, details: error.details } } };
  }
}

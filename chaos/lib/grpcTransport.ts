/* eslint-disable @typescript-eslint/no-explicit-any -- messages are read field by field, as workload.ts reads JSON */
import { ERROR_STATUS, type ErrorCode } from '../../src/domain/errors';
import { type InventoryClientApi, InventoryCallError, createInventoryClient } from '../../src/grpc/client';
import type { Answer } from './workload';
import type { Engine } from './world';

/** The reservation routes a client may call over gRPC instead: `/v1/reservations[/:id[/commit|release|extend]]`. */
const RESERVATION_ROUTE = /^\/v1\/reservations(?:\/([^/]+)(?:\/(commit|release|extend))?)?$/;

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

/**
 * Sends a client's reservation calls over gRPC (flashsale.v1.Inventory) and reads the answers as
 * the HTTP answers of the same calls: a reservation in the JSON shape, a refusal as its HTTP status
 * and error body (from the flashsale-error-code trailer). A call the engine never answered (the
 * connection failed, the deadline passed) is status 0, as a fetch that failed. So the checker
 * holds gRPC calls to the same invariants, mixed in one history with the HTTP ones.
 */
export class GrpcTransport {
  private readonly clients = new Map<string, InventoryClientApi>();

  /** Whether a request has a gRPC equivalent here. */
  static carries(method: string, path: string): boolean {
    const route = RESERVATION_ROUTE.exec(path);
    if (!route) return false;
    return method === 'POST' ? route[1] === undefined || route[2] !== undefined : route[2] === undefined && route[1] !== undefined;
  }

  private client(engine: Engine): InventoryClientApi {
    let client = this.clients.get(engine.name);
    if (!client) this.clients.set(engine.name, (client = createInventoryClient(engine.grpcAddress)));
    return client;
  }

  async call(engine: Engine, method: string, path: string, body: any, idempotencyKey: string | undefined, timeoutMs: number): Promise<Answer> {
    const client = this.client(engine);
    const options = { idempotencyKey, deadline: new Date(Date.now() + timeoutMs) };
    const [, reservationId, action] = RESERVATION_ROUTE.exec(path)!;
    try {
      if (!reservationId) {
        const answer = await client.reserveStock(body, options);
        return { status: 201, body: reservationJson(answer.reservation) };
      }
      const reservation =
        action === 'commit'
          ? (await client.commitReservation({ reservationId }, options)).reservation
          : action === 'release'
            ? (await client.releaseReservation({ reservationId }, options)).reservation
            : action === 'extend'
              ? (await client.extendReservation({ reservationId, ttlSeconds: body?.ttlSeconds }, options)).reservation
              : (await client.getReservation({ reservationId }, options)).reservation;
      return { status: 200, body: reservationJson(reservation) };
    } catch (error) {
      if (!(error instanceof InventoryCallError)) throw error;
      const status = ERROR_STATUS[error.errorCode as ErrorCode];
      // No code from the engine: grpc-js itself failed the call (no connection, deadline passed).
      if (status === undefined) return { status: 0, body: null };
      return { status, body: { error: { code: error.errorCode, message: error.message, details: error.details } } };
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
  }
}

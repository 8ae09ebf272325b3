import { type InventoryClientApi, createInventoryClient } from '../../src/grpc/client';
import { type HttpLikeAnswer, callOverGrpc } from '../../tools/grpcAsHttp';
import { CHAOS_ADMIN_TOKEN, type Engine } from './world';

/**
 * Sends a client's reservation calls, SKU reads and admin PUTs over gRPC to the engine's GRPC_PORT, one channel per engine,
 * and reads each answer as the same call's HTTP answer (tools/grpcAsHttp.ts): the checker holds
 * gRPC calls to the same invariants, mixed in one history with the HTTP ones.
 */
export class GrpcTransport {
  private readonly clients = new Map<string, InventoryClientApi>();

  private client(engine: Engine): InventoryClientApi {
    let client = this.clients.get(engine.name);
    if (!client) this.clients.set(engine.name, (client = createInventoryClient(engine.grpcAddress, { adminToken: CHAOS_ADMIN_TOKEN })));
    return client;
  }

  call(engine: Engine, method: string, path: string, body: unknown, idempotencyKey: string | undefined, timeoutMs: number): Promise<HttpLikeAnswer> {
    return callOverGrpc(this.client(engine), method, path, body, { idempotencyKey, timeoutMs });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
  }
}

import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type { FastifyBaseLogger } from 'fastify';
import { type InventoryDeps, inventoryHandlers } from './inventoryService';
import { loadInventoryProto } from './protoFiles';
import { ReadinessHealth } from './readinessHealth';
import { keepRepeatedMetadata } from './repeatedMetadata';

/** How long in-flight calls may take to finish when stopping, before they are cut. */
const STOP_GRACE_MS = 10_000;

export interface GrpcServer {
  /** The port bound (the one asked for, or the free one found for 0). */
  port: number;
  /** Stops taking calls, lets in-flight ones finish (up to STOP_GRACE_MS), then closes. */
  close(): Promise<void>;
}

export type GrpcServerDeps = InventoryDeps & { checkReady: () => Promise<void> };

/** `host:port` as gRPC names an address: an IPv6 host in brackets. */
function address(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Serves flashsale.v1.Inventory on `host:port` with the standard health service and server
 * reflection (so grpcurl and similar tools need no proto file). In a worker of WORKERS > 1 the
 * workers share the port, as they share the HTTP port.
 */
export async function startGrpcServer(deps: GrpcServerDeps, options: { host: string; port: number; log: FastifyBaseLogger }): Promise<GrpcServer> {
  const { definition, proto } = loadInventoryProto();
  const server = new Server();
  server.addService(proto.flashsale.v1.Inventory.service, inventoryHandlers(deps, options.log));
  const health = new ReadinessHealth(deps.checkReady);
  health.service.addToServer(server);
  // Reflection describes the health service too, so `grpcurl list` shows every service served.
  new ReflectionService({ ...definition, ...loadSync(healthProtoPath) }).addToServer(server);

  await health.start();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address(options.host, options.port), ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  ).catch((error) => {
    health.stop();
    throw new Error(`gRPC cannot listen on ${address(options.host, options.port)} (GRPC_PORT): ${(error as Error).message}`);
  });
  keepRepeatedMetadata(server);

  return {
    port,
    async close() {
      health.stop();
      await new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.forceShutdown(), STOP_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(cut);
          resolve();
        });
      });
    },
  };
}

/**
 * The gRPC ceiling: a bare @grpc/grpc-js server of flashsale.v1.Inventory, loaded as the engine
 * loads it (src/grpc/protoFiles.ts), whose ReserveStock answers a fixed reservation and does no
 * work at all: no token, no validation, no engine. What it serves per second, and its CPU per
 * call, is what grpc-js itself costs on this machine: the floor a gRPC reserve is measured
 * against, beside the HTTP ceiling (ceilingServer.ts). It answers GET /health on PORT so the
 * bench starts it like its other servers; the gRPC port is GRPC_PORT.
 */
import { createServer } from 'node:http';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { reservationMessage } from '../src/grpc/messages';
import { loadInventoryProto } from '../src/grpc/protoFiles';
import { CEILING_RESERVATION } from './lib/ceilingReservation';

const reservation = reservationMessage(CEILING_RESERVATION);

async function main() {
  const { proto } = loadInventoryProto();
  const server = new Server();
  // Only ReserveStock is served: grpc-js answers UNIMPLEMENTED for the rest.
  server.addService(proto.flashsale.v1.Inventory.service, {
    ReserveStock: (_call: unknown, callback: (error: null, response: object) => void) => callback(null, { reservation, replayed: false }),
  });
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${process.env.GRPC_PORT}`, ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
  const health = createServer((_request, response) => response.end('{"status":"ok"}'));
  health.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  process.once('SIGTERM', () => {
    health.close();
    server.forceShutdown();
    process.exit(0);
  });
}

void main();

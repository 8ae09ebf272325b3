import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/inventory';

/**
 * The package root's proto/, from src/grpc/ under tsx and from dist/grpc/ once built, like lua/
 * (src/redis/luaSource.ts): read from the root, never copied into dist/.
 */
export const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');
export const INVENTORY_PROTO = 'flashsale/v1/inventory.proto';
export const INVENTORY_SERVICE = 'flashsale.v1.Inventory';

/**
 * How messages become JS objects: camelCase fields (the HTTP JSON names), unset fields left out
 * (so "unset" stays distinguishable from 0), repeated fields always arrays. The flags of
 * `npm run grpc:generate` say the same, so src/grpc/generated/ types exactly these objects.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  includeDirs: [PROTO_DIR],
};

/** The Inventory service's definition, as the server, the client and reflection read it. */
export function loadInventoryProto(): { definition: protoLoader.PackageDefinition; proto: ProtoGrpcType } {
  const definition = protoLoader.loadSync(INVENTORY_PROTO, LOADER_OPTIONS);
  return { definition, proto: grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType };
}

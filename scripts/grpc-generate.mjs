// `npm run grpc:generate`: TypeScript types of proto/flashsale/v1/inventory.proto into
// src/grpc/generated/ (or the directory given), by @grpc/proto-loader's own generator. Its flags
// match LOADER_OPTIONS of src/grpc/protoFiles.ts, so the types describe the objects loaded at run
// time. test/grpc/api.test.ts generates into a temporary directory and compares with the committed copy.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'src/grpc/generated'));
const generator = path.join(root, 'node_modules/.bin/proto-loader-gen-types');

rmSync(outDir, { recursive: true, force: true });
execFileSync(
  generator,
  ['--longs=String', '--enums=String', '--arrays', '--includeComments', '--grpcLib=@grpc/grpc-js', '-I', 'proto', '-O', outDir, 'flashsale/v1/inventory.proto'],
  { cwd: root, stdio: 'inherit' },
);

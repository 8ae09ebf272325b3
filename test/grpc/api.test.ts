import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Socket, connect, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { ERROR_CODE_TRAILER, ERROR_DETAILS_TRAILER } from '../../src/grpc/errorDetails';
import { InventoryCallError, createInventoryClient } from '../../src/grpc/client';
import { ticketMessage } from '../../src/grpc/messages';
import { INVENTORY_SERVICE } from '../../src/grpc/protoFiles';
import { type GrpcServer, startGrpcServer } from '../../src/grpc/server';
import { ADMIN_TOKEN, REDIS_TARGETS, type TestContext, createTestContext, rawCounters, uniqueName } from '../support/context';
import { removeEngineDirs, startEngine } from '../support/engineProcess';
import { type TestRedis, freePort, startTestRedis } from '../support/servers';

type Client = ReturnType<typeof createInventoryClient>;

/** An engine as the tests build it (createTestContext) with the gRPC server of `npm start` beside it, on a free port. */
async function grpcEngine(options: Parameters<typeof createTestContext>[0] = {}) {
  const ctx = await createTestContext(options);
  const server = await startGrpcServer({ config: ctx.config, ...ctx.app.runtime, metrics: ctx.metrics }, { host: '127.0.0.1', port: 0, log: ctx.app.log });
  const address = `127.0.0.1:${server.port}`;
  return { ctx, server, address, client: createInventoryClient(address, { adminToken: ADMIN_TOKEN }) };
}

async function closeEngine(engine: { ctx: TestContext; server: GrpcServer; client: Client }) {
  engine.client.close();
  await engine.server.close();
  await engine.ctx.close();
}

/** The refusal a call ends with (fails the test when it succeeds). */
async function refusal(call: Promise<unknown>): Promise<InventoryCallError> {
  const outcome = await call.then(
    (answer) => ({ answer }),
    (error: InventoryCallError) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.answer)}`);
  return outcome.error;
}

async function expectRefused(call: Promise<unknown>, status: grpc.status, errorCode: string): Promise<InventoryCallError> {
  const error = await refusal(call);
  expect({ status: grpc.status[error.status], errorCode: error.errorCode }).toEqual({ status: grpc.status[status], errorCode });
  return error;
}

/** The standard health service's answer for `service`. */
function healthOf(address: string, service: string): Promise<string> {
  const { grpc: { health } } = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { enums: String })) as any;
  const client = new health.v1.Health(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.Check({ service }, (error: Error | null, answer: { status: string }) => {
      client.close();
      return error ? reject(error) : resolve(answer.status);
    }),
  );
}

/** The services server reflection lists (what `grpcurl list` prints). */
function reflectedServices(address: string): Promise<string[]> {
  const reflectionProto = path.join(path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '../proto/grpc/reflection/v1/reflection.proto');
  const { grpc: { reflection } } = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto, { keepCase: true })) as any;
  const client = new reflection.v1.ServerReflection(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const stream = client.ServerReflectionInfo();
    stream.on('data', (answer: any) => {
      resolve(answer.list_services_response.service.map((service: { name: string }) => service.name));
      stream.end();
      client.close();
    });
    stream.on('error', reject);
    stream.write({ list_services: '' });
  });
}

/**
 * A TCP proxy to `address` that adds the header `name: value` to every request's headers. Neither
 * grpc-js nor Node's HTTP/2 client sends a second `authorization` value, as other clients may.
 */
async function headerAddingProxy(address: string, name: string, value: string): Promise<{ address: string; close(): void }> {
  const [host, port] = address.split(':');
  // HPACK "literal header field without indexing, new name" (RFC 7541 6.2.2), without Huffman coding.
  const field = Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
  const PREFACE_BYTES = 24;
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(Number(port), host);
    sockets.push(client, upstream);
    for (const socket of [client, upstream]) socket.on('error', () => client.destroy()).on('close', () => upstream.destroy());
    upstream.pipe(client);
    let pending = Buffer.alloc(0);
    let prefaceLeft = PREFACE_BYTES;
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const preface = pending.subarray(0, prefaceLeft);
      upstream.write(preface);
      prefaceLeft -= preface.length;
      pending = pending.subarray(preface.length);
      // Frames: 3 bytes length, type, flags, 4 bytes stream id, then the payload.
      while (prefaceLeft === 0 && pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        const length = pending.readUIntBE(0, 3);
        let frame = pending.subarray(0, 9 + length);
        pending = pending.subarray(9 + length);
        const [type, flags] = [frame[3], frame[4]];
        // A HEADERS frame (1) holding the whole header block (END_HEADERS, 4), not padded (8): the field goes at its end.
        if (type === 1 && flags & 4 && !(flags & 8)) {
          frame = Buffer.concat([frame, field]);
          frame.writeUIntBE(length + field.length, 0, 3);
        }
        upstream.write(frame);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe.each(REDIS_TARGETS)('gRPC on %s Redis', (redis) => {
  let engine: Awaited<ReturnType<typeof grpcEngine>>;
  let ctx: TestContext;
  let client: Client;
  let sku: string;
  beforeAll(async () => {
    engine = await grpcEngine({ redis });
    ({ ctx, client } = engine);
    sku = uniqueName('tv-');
    await client.updateStock({ sku, total: 10, perUserLimit: 5 });
  });
  afterAll(() => closeEngine(engine));

  const reserveRequest = (extra: object = {}) => ({ userId: 'u-17', orderId: 'o-9', items: [{ sku, qty: 1 }], ...extra });

  it('reserve, commit, commit again, release refused: the walk-through over gRPC (docs/api.md#walk-through-with-the-node-client)', async () => {
    const { reservation, replayed } = await client.reserveStock(reserveRequest({ items: [{ sku, qty: 1 }, { sku, qty: 1 }] }));
    expect(replayed).toBe(false);
    expect(reservation).toMatchObject({ status: 'PENDING', userId: 'u-17', orderId: 'o-9', items: [{ sku, qty: 2, reserved: 2, backordered: 0, status: 'RESERVED', allocations: [{ location: 'default', reserved: 2 }] }] });
    // The same reservation HTTP reads.
    const read = await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${reservation!.id}` });
    expect(read.json()).toEqual(reservation);
    expect(await client.getReservation({ reservationId: reservation!.id })).toEqual({ reservation });

    const committed = await client.commitReservation({ reservationId: reservation!.id });
    expect(committed.reservation!.status).toBe('COMMITTED');
    expect(await client.getReservation({ reservationId: reservation!.id })).toEqual({ reservation: committed.reservation });
    expect((await client.commitReservation({ reservationId: reservation!.id })).reservation!.status).toBe('COMMITTED');
    await expectRefused(client.releaseReservation({ reservationId: reservation!.id }), grpc.status.FAILED_PRECONDITION, 'RESERVATION_COMMITTED');

    const { stock } = await client.getStock({ sku });
    const counters = { total: 10, available: 8, reserved: 0, sold: 2 };
    // No sale window: unset, as HTTP's null.
    expect(stock).toEqual({ sku, ...counters, perUserLimit: 5, locations: [{ location: 'default', active: true, ...counters }] });
    const view = (await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).json();
    expect(view).toEqual({ ...stock, startsAt: null, endsAt: null, line: null });
  });

  it('extend answers the new expiry; release returns the units; extending a released one is refused', async () => {
    const { reservation } = await client.reserveStock(reserveRequest({ ttlSeconds: 30 }));
    const id = reservation!.id;
    const extended = await client.extendReservation({ reservationId: id, ttlSeconds: 300 });
    expect(Date.parse(extended.reservation!.expiresAt!) - Date.now()).toBeGreaterThan(250_000);
    const before = await rawCounters(ctx, sku);
    expect((await client.releaseReservation({ reservationId: id })).reservation!.status).toBe('RELEASED');
    expect((await client.releaseReservation({ reservationId: id })).reservation!.status).toBe('RELEASED');
    expect((await rawCounters(ctx, sku)).available).toBe(before.available + 1);
    await expectRefused(client.extendReservation({ reservationId: id, ttlSeconds: 300 }), grpc.status.FAILED_PRECONDITION, 'RESERVATION_RELEASED');
  });

  it('GetReservation reads a pending hold past its expiry as EXPIRED, as GET /v1/reservations/:id does', async () => {
    const { reservation } = await client.reserveStock(reserveRequest({ ttlSeconds: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const { reservation: read } = await client.getReservation({ reservationId: reservation!.id });
    expect(read).toMatchObject({ id: reservation!.id, status: 'EXPIRED' });
    const overHttp = await ctx.app.inject({ method: 'GET', url: `/v1/reservations/${reservation!.id}` });
    expect(overHttp.json()).toEqual(read);
  });

  it('idempotency-key metadata: a replay answers the same reservation and holds nothing; another body with the key is ALREADY_EXISTS', async () => {
    const idempotencyKey = `key ${uniqueName('')}`;
    const first = await client.reserveStock(reserveRequest(), { idempotencyKey });
    const held = await rawCounters(ctx, sku);
    const replay = await client.reserveStock(reserveRequest(), { idempotencyKey });
    expect(replay).toEqual({ ...first, replayed: true });
    expect(await rawCounters(ctx, sku)).toEqual(held);
    await expectRefused(client.reserveStock(reserveRequest({ orderId: 'o-10' }), { idempotencyKey }), grpc.status.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    // The key is the one HTTP binds: the same body over HTTP replays the gRPC reservation.
    const overHttp = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers: { 'idempotency-key': idempotencyKey }, payload: reserveRequest() });
    expect(overHttp.headers['idempotency-replayed']).toBe('true');
    expect(overHttp.json().id).toBe(first.reservation!.id);
  });

  it('CheckStock and BulkCheckStock hold nothing, merge lines and read unknown SKUs as 0', async () => {
    const before = await rawCounters(ctx, sku);
    expect(await client.checkStock({ item: { sku, qty: 1 } })).toEqual({ item: { sku, qty: 1, available: before.available, ok: true } });
    expect(await client.checkStock({ item: { sku: 'no-such-sku', qty: 2 } })).toEqual({ item: { sku: 'no-such-sku', qty: 2, available: 0, ok: false } });
    const bulk = await client.bulkCheckStock({ items: [{ sku, qty: 1 }, { sku: 'no-such-sku', qty: 2 }, { sku, qty: 2 }] });
    expect(bulk).toEqual({ ok: false, items: [{ sku, qty: 3, available: before.available, ok: true }, { sku: 'no-such-sku', qty: 2, available: 0, ok: false }] });
    const overHttp = await ctx.app.inject({ method: 'POST', url: '/v1/availability', payload: { items: [{ sku, qty: 1 }, { sku: 'no-such-sku', qty: 2 }, { sku, qty: 2 }] } });
    expect(overHttp.json()).toEqual(bulk);
    expect(await rawCounters(ctx, sku)).toEqual(before);
  });

  it('unknown SKU and unknown reservation are NOT_FOUND with the HTTP code string', async () => {
    await expectRefused(client.getStock({ sku: 'nope' }), grpc.status.NOT_FOUND, 'SKU_NOT_FOUND');
    await expectRefused(client.getReservation({ reservationId: 'nope' }), grpc.status.NOT_FOUND, 'RESERVATION_NOT_FOUND');
    await expectRefused(client.getReservation({ reservationId: '' }), grpc.status.INVALID_ARGUMENT, 'VALIDATION_FAILED');
    await expectRefused(client.commitReservation({ reservationId: 'nope' }), grpc.status.NOT_FOUND, 'RESERVATION_NOT_FOUND');
    await expectRefused(client.releaseReservation({ reservationId: 'nope' }), grpc.status.NOT_FOUND, 'RESERVATION_NOT_FOUND');
    await expectRefused(client.reserveStock(reserveRequest({ items: [{ sku: 'nope', qty: 1 }] })), grpc.status.NOT_FOUND, 'SKU_NOT_FOUND');
  });

  it('refusals by stock and limit: FAILED_PRECONDITION and RESOURCE_EXHAUSTED, code and details in the trailers and in google.rpc.ErrorInfo', async () => {
    const small = uniqueName('small-');
    await client.updateStock({ sku: small, total: 2, perUserLimit: 3 });
    const short = await expectRefused(client.reserveStock({ userId: 'u-1', items: [{ sku: small, qty: 3 }], allowPartial: false }), grpc.status.FAILED_PRECONDITION, 'INSUFFICIENT_STOCK');
    const overHttp = (await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u-1', items: [{ sku: small, qty: 3 }] } })).json();
    expect(overHttp.error).toEqual({ code: 'INSUFFICIENT_STOCK', message: short.message, details: short.details });
    // The plain trailers say the same, for clients that do not decode google.rpc.Status.
    expect(short.cause.metadata.get(ERROR_CODE_TRAILER)).toEqual(['INSUFFICIENT_STOCK']);
    expect(JSON.parse(String(short.cause.metadata.get(ERROR_DETAILS_TRAILER)[0]))).toEqual(short.details);

    await client.reserveStock({ userId: 'u-1', items: [{ sku: small, qty: 1 }] });
    await expectRefused(client.reserveStock({ userId: 'u-1', items: [{ sku: small, qty: 3 }] }), grpc.status.RESOURCE_EXHAUSTED, 'PURCHASE_LIMIT_EXCEEDED');
    await expectRefused(client.updateStock({ sku: small, total: 0 }), grpc.status.FAILED_PRECONDITION, 'TOTAL_BELOW_COMMITTED');
    expect(await rawCounters(ctx, small)).toEqual({ total: 2, available: 1, reserved: 1, sold: 0 });
  });

  it('UpdateStock creates then updates, with locations and a sale window; closed windows refuse reserves', async () => {
    const name = uniqueName('loc-');
    const created = await client.updateStock({ sku: name, locations: [{ location: 'berlin', total: 3 }, { location: 'paris', total: 2 }] });
    expect(created.created).toBe(true);
    expect(created.stock).toMatchObject({ total: 5, available: 5, locations: [{ location: 'berlin', total: 3 }, { location: 'paris', total: 2 }] });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const updated = await client.updateStock({ sku: name, total: 5, startsAt: later });
    expect(updated).toMatchObject({ created: false, stock: { startsAt: later } });
    await expectRefused(client.reserveStock({ userId: 'u', items: [{ sku: name, qty: 1 }] }), grpc.status.FAILED_PRECONDITION, 'SALE_NOT_ACTIVE');
  });

  it('UpdateStock reads a location whose total is left off the wire as 0, as protobuf libraries send a 0', async () => {
    const name = uniqueName('loc-zero-');
    const { stock } = await client.updateStock({ sku: name, locations: [{ location: 'berlin', total: 3 }, { location: 'paris' }] });
    expect(stock).toMatchObject({ total: 3, locations: [{ location: 'berlin', total: 3 }, { location: 'paris', total: 0, available: 0 }] });
    const overHttp = await ctx.app.inject({ method: 'GET', url: `/v1/skus/${name}` });
    expect(overHttp.json().locations[1]).toMatchObject({ location: 'paris', total: 0 });
  });

  it('UpdateStock splits a SKU into buckets, with locations, as PUT does; the view shows the count, and an update must name it', async () => {
    const name = uniqueName('split-');
    const created = await client.updateStock({ sku: name, locations: [{ location: 'berlin', total: 4 }, { location: 'paris', total: 2 }], buckets: 3 });
    expect(created.stock).toMatchObject({ total: 6, buckets: 3, locations: [{ location: 'berlin', total: 4 }, { location: 'paris', total: 2 }] });
    const held = await client.reserveStock({ userId: 'u', items: [{ sku: name, qty: 2, location: 'paris' }] });
    expect(held.reservation?.items[0]).toMatchObject({ sku: name, reserved: 2, allocations: [{ location: 'paris', reserved: 2 }] });
    expect((await client.getStock({ sku: name })).stock).toMatchObject({ available: 4, reserved: 2, buckets: 3 });
    // Buckets only grow: an update leaving them out asks for one.
    await expectRefused(client.updateStock({ sku: name, locations: [{ location: 'berlin', total: 5 }, { location: 'paris', total: 2 }] }), grpc.status.INVALID_ARGUMENT, 'VALIDATION_FAILED');
    const grown = await client.updateStock({ sku: name, locations: [{ location: 'berlin', total: 5 }, { location: 'paris', total: 2 }], buckets: 4 });
    expect(grown.stock).toMatchObject({ total: 7, available: 5, reserved: 2, buckets: 4 });
    // An unsplit SKU's view leaves the count unset.
    const plain = uniqueName('plain-');
    expect((await client.updateStock({ sku: plain, total: 1 })).stock?.buckets).toBeUndefined();
  });

  describe('bad input: INVALID_ARGUMENT with VALIDATION_FAILED, and nothing moves', () => {
    const cases: [string, (client: Client) => Promise<unknown>][] = [
      ['braces in a SKU', (c) => c.reserveStock({ userId: 'u', items: [{ sku: '{tv}', qty: 1 }] })],
      ['a SKU of 65 characters', (c) => c.reserveStock({ userId: 'u', items: [{ sku: 's'.repeat(65), qty: 1 }] })],
      ['no userId', (c) => c.reserveStock({ items: [{ sku: 'tv', qty: 1 }] })],
      ['a userId with a space', (c) => c.reserveStock({ userId: 'u 1', items: [{ sku: 'tv', qty: 1 }] })],
      ['no lines', (c) => c.reserveStock({ userId: 'u', items: [] })],
      ['51 lines', (c) => c.reserveStock({ userId: 'u', items: Array.from({ length: 51 }, (_, n) => ({ sku: `s${n}`, qty: 1 })) })],
      ['qty 0', (c) => c.reserveStock({ userId: 'u', items: [{ sku: 'tv', qty: 0 }] })],
      ['qty -1', (c) => c.reserveStock({ userId: 'u', items: [{ sku: 'tv', qty: -1 }] })],
      ['qty 10001', (c) => c.reserveStock({ userId: 'u', items: [{ sku: 'tv', qty: 10_001 }] })],
      ['ttlSeconds 3601', (c) => c.reserveStock({ userId: 'u', items: [{ sku: 'tv', qty: 1 }], ttlSeconds: 3601 })],
      ['ttlSeconds 0', (c) => c.reserveStock({ userId: 'u', items: [{ sku: 'tv', qty: 1 }], ttlSeconds: 0 })],
      ['merged lines over 10000 units', (c) => c.reserveStock({ userId: 'u', items: [{ sku: 'tv', qty: 6000 }, { sku: 'tv', qty: 6000 }] })],
      ['no line to check', (c) => c.checkStock({})],
      ['a bad location to check', (c) => c.bulkCheckStock({ items: [{ sku: 'tv', qty: 1, location: 'a b' }] })],
      ['a bad SKU to read', (c) => c.getStock({ sku: 'a/b' })],
      ['a bad reservation id', (c) => c.commitReservation({ reservationId: 'a'.repeat(300) })],
      ['extend by 0 s', (c) => c.extendReservation({ reservationId: 'AVvqdBHKo8lxb9Thi', ttlSeconds: 0 })],
      ['a negative total', (c) => c.updateStock({ sku: 'tv', total: -1 })],
      ['both total and locations', (c) => c.updateStock({ sku: 'tv', total: 1, locations: [{ location: 'a', total: 1 }] })],
      ['neither total nor locations', (c) => c.updateStock({ sku: 'tv' })],
      ['a window time without a zone', (c) => c.updateStock({ sku: 'tv', total: 1, startsAt: '2026-01-01T00:00:00' })],
      ['a window ending before it starts', (c) => c.updateStock({ sku: 'tv', total: 1, startsAt: '2026-01-02T00:00:00Z', endsAt: '2026-01-01T00:00:00Z' })],
    ];
    it.each(cases)('%s', async (_name, call) => {
      const before = await rawCounters(ctx, sku);
      await expectRefused(call(client), grpc.status.INVALID_ARGUMENT, 'VALIDATION_FAILED');
      expect(await rawCounters(ctx, sku)).toEqual(before);
    });

    it('an idempotency key over 255 characters is refused as the header would be', async () => {
      await expectRefused(client.reserveStock(reserveRequest(), { idempotencyKey: 'k'.repeat(256) }), grpc.status.INVALID_ARGUMENT, 'VALIDATION_FAILED');
    });

    it('an idempotency-key sent twice is refused and holds nothing; one key holding ", " is one key', async () => {
      const metadata = new grpc.Metadata();
      metadata.add('idempotency-key', `k1-${uniqueName('')}`);
      metadata.add('idempotency-key', `k2-${uniqueName('')}`);
      const reserveWith = (sent: grpc.Metadata) =>
        new Promise((resolve, reject) =>
          client.raw.ReserveStock(reserveRequest(), sent, (error, answer) => (error ? reject(new InventoryCallError(error)) : resolve(answer))),
        );
      const before = await rawCounters(ctx, sku);
      const refused = await expectRefused(reserveWith(metadata), grpc.status.INVALID_ARGUMENT, 'VALIDATION_FAILED');
      expect(refused.details).toEqual({ in: 'metadata', key: 'idempotency-key', count: 2 });
      expect(await rawCounters(ctx, sku)).toEqual(before);
      const idempotencyKey = `cart 17, try ${uniqueName('')}`;
      const first = await client.reserveStock(reserveRequest(), { idempotencyKey });
      expect(await client.reserveStock(reserveRequest(), { idempotencyKey })).toEqual({ ...first, replayed: true });
    });

    it('authorization sent twice is refused, whichever value comes first', async () => {
      const before = await rawCounters(ctx, sku);
      for (const second of ['Bearer wrong', `Bearer ${ADMIN_TOKEN}`]) {
        const proxy = await headerAddingProxy(engine.address, 'authorization', second);
        const twice = createInventoryClient(proxy.address, { adminToken: ADMIN_TOKEN, apiToken: 'any' });
        try {
          await expectRefused(twice.updateStock({ sku, total: 1000 }), grpc.status.INVALID_ARGUMENT, 'VALIDATION_FAILED');
          await expectRefused(twice.getStock({ sku }), grpc.status.INVALID_ARGUMENT, 'VALIDATION_FAILED');
        } finally {
          twice.close();
          proxy.close();
        }
      }
      expect(await rawCounters(ctx, sku)).toEqual(before);
    });

    it('the message and details are those HTTP answers for the same input', async () => {
      const bad = { userId: 'u', items: [{ sku, qty: 0 }] };
      const overGrpc = await refusal(client.reserveStock({ userId: 'u', items: [{ sku, qty: -5 }] }));
      const overHttp = (await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { ...bad, items: [{ sku, qty: -5 }] } })).json();
      expect(overHttp.error).toEqual({ code: 'VALIDATION_FAILED', message: overGrpc.message, details: overGrpc.details });
    });
  });

  it('the admin token: UpdateStock without it or with a wrong one is UNAUTHENTICATED and changes nothing', async () => {
    const before = await rawCounters(ctx, sku);
    const anonymous = createInventoryClient(engine.address);
    const wrong = createInventoryClient(engine.address, { adminToken: 'wrong' });
    try {
      await expectRefused(anonymous.updateStock({ sku, total: 1000 }), grpc.status.UNAUTHENTICATED, 'UNAUTHORIZED');
      await expectRefused(wrong.updateStock({ sku, total: 1000 }), grpc.status.UNAUTHENTICATED, 'UNAUTHORIZED');
      // Client calls need no token while API_TOKEN is unset.
      expect((await anonymous.getStock({ sku })).stock!.total).toBe(10);
    } finally {
      anonymous.close();
      wrong.close();
    }
    expect(await rawCounters(ctx, sku)).toEqual(before);
  });

  it('1 unit, 1000 concurrent ReserveStock calls: exactly one holds it, 999 are refused INSUFFICIENT_STOCK', async () => {
    const one = uniqueName('one-');
    await client.updateStock({ sku: one, total: 1 });
    const outcomes = await Promise.all(
      Array.from({ length: 1000 }, (_, n) =>
        client.reserveStock({ userId: `buyer-${n}`, items: [{ sku: one, qty: 1 }] }).then(
          () => 'held',
          (error: InventoryCallError) => `${grpc.status[error.status]} ${error.errorCode}`,
        ),
      ),
    );
    const counts: Record<string, number> = {};
    for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
    expect(counts).toEqual({ held: 1, 'FAILED_PRECONDITION INSUFFICIENT_STOCK': 999 });
    expect(await rawCounters(ctx, one)).toEqual({ total: 1, available: 0, reserved: 1, sold: 0 });
  });

  it('reserves over gRPC are counted in the reserve outcome metrics with those over HTTP', async () => {
    const before = (await ctx.metrics.reservations.get()).values.find((value) => value.labels.outcome === 'sku_not_found')?.value ?? 0;
    await refusal(client.reserveStock(reserveRequest({ items: [{ sku: 'nope', qty: 1 }] })));
    const after = (await ctx.metrics.reservations.get()).values.find((value) => value.labels.outcome === 'sku_not_found')?.value;
    expect(after).toBe(before + 1);
  });

  it('health is SERVING for the server and the service; reflection lists flashsale.v1.Inventory and health', async () => {
    expect(await healthOf(engine.address, '')).toBe('SERVING');
    expect(await healthOf(engine.address, INVENTORY_SERVICE)).toBe('SERVING');
    expect(await reflectedServices(engine.address)).toEqual(expect.arrayContaining([INVENTORY_SERVICE, 'grpc.health.v1.Health']));
  });
});

describe.each(REDIS_TARGETS)('waiting lines over gRPC on %s Redis', (redis) => {
  let engine: Awaited<ReturnType<typeof grpcEngine>>;
  let ctx: TestContext;
  let client: Client;
  beforeAll(async () => {
    engine = await grpcEngine({ redis });
    ({ ctx, client } = engine);
  });
  afterAll(() => closeEngine(engine));

  /** The message HTTP's JSON stands for: a null is an unset field. */
  const asMessage = (json: unknown) => JSON.parse(JSON.stringify(json, (_key, value) => (value === null ? undefined : value)));
  const lined = async (total: number, extra: object = {}) => {
    const sku = uniqueName('lined-');
    const { stock } = await client.updateStock({ sku, total, line: { holdTtlSeconds: 60 }, ...extra });
    expect(stock!.line).toEqual({ waiting: 0, admitted: 0, holdTtlSeconds: 60, lobbySeconds: 0 });
    return sku;
  };

  it('JoinLine, GetTicket and LeaveLine answer what HTTP answers; a lined SKU refuses ReserveStock LINE_REQUIRED', async () => {
    const sku = await lined(1);
    const refused = await expectRefused(client.reserveStock({ userId: 'u', items: [{ sku, qty: 1 }] }), grpc.status.FAILED_PRECONDITION, 'LINE_REQUIRED');
    expect(refused.details).toEqual({ sku, join: `/v1/skus/${sku}/line` });

    const first = await client.joinLine({ sku, userId: 'first', qty: 1, orderId: 'o-1' });
    expect(first).toMatchObject({ joined: true, ticket: { sku, userId: 'first', qty: 1, orderId: 'o-1', status: 'ADMITTED', pollAfterMs: 0 } });
    expect(first.ticket!.reservation).toMatchObject({ id: first.ticket!.id, status: 'PENDING', items: [{ sku, qty: 1, reserved: 1 }] });
    expect(first.ticket!.position).toBeUndefined();
    const second = await client.joinLine({ sku, userId: 'second', qty: 1 }, { idempotencyKey: 'join second' });
    expect(second).toMatchObject({ joined: true, ticket: { status: 'WAITING', position: 1, unitsAhead: 0, unitsLeft: 1, lobby: false } });
    expect(second.ticket!.orderId).toBeUndefined();
    // Joining again answers the ticket the user has.
    const again = await client.joinLine({ sku, userId: 'second', qty: 1 });
    expect(again).toEqual({ joined: false, ticket: second.ticket });

    for (const { ticket } of [first, second]) {
      const overHttp = (await ctx.app.inject({ method: 'GET', url: `/v1/line-tickets/${ticket!.id}` })).json();
      expect((await client.getTicket({ ticketId: ticket!.id })).ticket).toEqual(asMessage(overHttp));
    }
    expect((await client.getStock({ sku })).stock!.line).toEqual({ waiting: 1, admitted: 1, holdTtlSeconds: 60, lobbySeconds: 0 });

    const left = await client.leaveLine({ ticketId: second.ticket!.id });
    expect(left).toMatchObject({ left: true, ticket: { status: 'LEFT' } });
    // Leaving again, or leaving with an admitted ticket, changes nothing.
    expect(await client.leaveLine({ ticketId: second.ticket!.id })).toMatchObject({ left: false, ticket: { status: 'LEFT' } });
    expect(await client.leaveLine({ ticketId: first.ticket!.id })).toMatchObject({ left: false, ticket: { status: 'ADMITTED', reservation: { status: 'PENDING' } } });
    expect((await client.getStock({ sku })).stock!.line).toEqual({ waiting: 0, admitted: 1, holdTtlSeconds: 60, lobbySeconds: 0 });
  });

  it('UpdateStock keeps a line it names and removes one it leaves out, as PUT does: waiting tickets end CLOSED', async () => {
    const sku = await lined(1);
    await client.joinLine({ sku, userId: 'a', qty: 1 });
    const { ticket } = await client.joinLine({ sku, userId: 'b', qty: 1 });
    const kept = await client.updateStock({ sku, total: 1, line: { holdTtlSeconds: 30, lobbySeconds: 5 } });
    expect(kept.stock!.line).toEqual({ waiting: 1, admitted: 1, holdTtlSeconds: 30, lobbySeconds: 5 });
    // An empty line takes the defaults: the engine's hold and no lobby.
    const defaults = await client.updateStock({ sku, total: 1, line: {} });
    expect(defaults.stock!.line).toEqual({ waiting: 1, admitted: 1, holdTtlSeconds: ctx.config.reservationTtlSeconds, lobbySeconds: 0 });
    const removed = await client.updateStock({ sku, total: 1 });
    expect(removed.stock!.line).toBeUndefined();
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).json().line).toBeNull();
    expect((await client.getTicket({ ticketId: ticket!.id })).ticket!.status).toBe('CLOSED');
  });

  it('refusals carry the HTTP code strings: LINE_NOT_FOUND, SKU_NOT_FOUND, TICKET_NOT_FOUND, SOLD_OUT, PURCHASE_LIMIT_EXCEEDED, SALE_NOT_ACTIVE, VALIDATION_FAILED', async () => {
    const plain = uniqueName('plain-');
    await client.updateStock({ sku: plain, total: 1 });
    await expectRefused(client.joinLine({ sku: plain, userId: 'u', qty: 1 }), grpc.status.NOT_FOUND, 'LINE_NOT_FOUND');
    await expectRefused(client.joinLine({ sku: uniqueName('nope-'), userId: 'u', qty: 1 }), grpc.status.NOT_FOUND, 'SKU_NOT_FOUND');
    await expectRefused(client.getTicket({ ticketId: 'Anosuchticket0000' }), grpc.status.NOT_FOUND, 'TICKET_NOT_FOUND');
    await expectRefused(client.leaveLine({ ticketId: 'Anosuchticket0000' }), grpc.status.NOT_FOUND, 'TICKET_NOT_FOUND');

    const sku = await lined(2, { perUserLimit: 1 });
    const soldOut = await expectRefused(client.joinLine({ sku, userId: 'u', qty: 3 }), grpc.status.FAILED_PRECONDITION, 'SOLD_OUT');
    expect(soldOut.details).toEqual({ sku, unitsLeft: 2 });
    await expectRefused(client.joinLine({ sku, userId: 'u', qty: 2 }), grpc.status.RESOURCE_EXHAUSTED, 'PURCHASE_LIMIT_EXCEEDED');
    const later = await lined(1, { startsAt: new Date(Date.now() + 3_600_000).toISOString() });
    await expectRefused(client.joinLine({ sku: later, userId: 'u', qty: 1 }), grpc.status.FAILED_PRECONDITION, 'SALE_NOT_ACTIVE');

    const invalid: (() => Promise<unknown>)[] = [
      () => client.joinLine({ sku, userId: 'u', qty: 0 }),
      () => client.joinLine({ sku, userId: 'u 1', qty: 1 }),
      () => client.joinLine({ sku: '{tv}', userId: 'u', qty: 1 }),
      () => client.joinLine({ sku, qty: 1 }),
      () => client.joinLine({ sku, userId: 'u', qty: 1 }, { idempotencyKey: 'k'.repeat(256) }),
      () => client.getTicket({ ticketId: 'a/b' }),
      () => client.leaveLine({}),
      () => client.updateStock({ sku, total: 2, line: { holdTtlSeconds: 0 } }),
      () => client.updateStock({ sku, total: 2, line: { lobbySeconds: 86_401 } }),
    ];
    for (const call of invalid) await expectRefused(call(), grpc.status.INVALID_ARGUMENT, 'VALIDATION_FAILED');
    // Nothing joined, and the line is as it was.
    expect((await client.getStock({ sku })).stock!.line).toEqual({ waiting: 0, admitted: 0, holdTtlSeconds: 60, lobbySeconds: 0 });
  });

  it('a line sold out for good is refused SOLD_OUT from what the engine knows, as over HTTP; a ticket holder gets the ticket', async () => {
    const sku = await lined(1);
    const { ticket } = await client.joinLine({ sku, userId: 'buyer', qty: 1 });
    expect(ticket!.status).toBe('ADMITTED');
    await client.commitReservation({ reservationId: ticket!.id });
    const fromRedis = await expectRefused(client.joinLine({ sku, userId: 'late', qty: 1 }), grpc.status.FAILED_PRECONDITION, 'SOLD_OUT');
    expect(fromRedis.details).toEqual({ sku, unitsLeft: 0 });
    // The engine's watch reads every 25 ms: asked until it answers without Redis, the same refusal each time.
    let answeredHere = false;
    for (let n = 0; n < 50 && !answeredHere; n++) {
      const before = ctx.engine.soldOut.refusedHere;
      const refused = await expectRefused(client.joinLine({ sku, userId: `late-${n}`, qty: 1 }), grpc.status.FAILED_PRECONDITION, 'SOLD_OUT');
      expect(refused.details).toEqual(fromRedis.details);
      answeredHere = ctx.engine.soldOut.refusedHere > before;
      if (!answeredHere) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(answeredHere, 'answered without Redis').toBe(true);
    expect(await client.joinLine({ sku, userId: 'buyer', qty: 1 })).toMatchObject({ joined: false, ticket: { id: ticket!.id, status: 'ADMITTED', reservation: { status: 'COMMITTED' } } });
  });

  it('joins over gRPC are counted by outcome with those over HTTP; an admission read is timed once', async () => {
    const sku = await lined(1);
    const joins = async () => Object.fromEntries((await ctx.metrics.lineJoins.get()).values.map((value) => [value.labels.outcome, value.value]));
    const waits = async () => (await ctx.metrics.lineAdmissionWait.get()).values.find((value) => value.metricName?.endsWith('_count'))?.value ?? 0;
    const [before, waitsBefore] = [await joins(), await waits()];
    const { ticket } = await client.joinLine({ sku, userId: 'a', qty: 1 });
    await client.joinLine({ sku, userId: 'a', qty: 1 });
    await ctx.app.inject({ method: 'POST', url: `/v1/skus/${sku}/line`, payload: { userId: 'b', qty: 1 } });
    await refusal(client.joinLine({ sku, userId: 'c', qty: 2 }));
    await refusal(client.joinLine({ sku: uniqueName('nope-'), userId: 'c', qty: 1 }));
    const after = await joins();
    const moved = (outcome: string) => (after[outcome] ?? 0) - (before[outcome] ?? 0);
    expect({ joined: moved('joined'), existing: moved('existing'), sold_out: moved('sold_out'), sku_not_found: moved('sku_not_found') }).toEqual({ joined: 2, existing: 1, sold_out: 1, sku_not_found: 1 });
    // a was admitted at its join: timed then, and not again when read.
    await client.getTicket({ ticketId: ticket!.id });
    expect((await waits()) - waitsBefore).toBe(1);
  });
});

describe('gRPC with the client token set (API_TOKEN)', () => {
  let engine: Awaited<ReturnType<typeof grpcEngine>>;
  beforeAll(async () => {
    engine = await grpcEngine({ env: { API_TOKEN: 'client-secret' } });
  });
  afterAll(() => closeEngine(engine));

  it('client calls demand it, as the HTTP client routes do', async () => {
    await expectRefused(engine.client.getStock({ sku: 'tv' }), grpc.status.UNAUTHENTICATED, 'UNAUTHORIZED');
    const withToken = createInventoryClient(engine.address, { apiToken: 'client-secret' });
    try {
      await expectRefused(withToken.getStock({ sku: 'tv' }), grpc.status.NOT_FOUND, 'SKU_NOT_FOUND');
    } finally {
      withToken.close();
    }
  });
});

describe('gRPC while Redis is down', () => {
  let redis: TestRedis;
  let engine: Awaited<ReturnType<typeof grpcEngine>>;
  beforeAll(async () => {
    redis = await startTestRedis({ appendonly: true });
    engine = await grpcEngine({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await closeEngine(engine);
    await redis.stop();
  });

  it('kill -9: UNAVAILABLE fast, health NOT_SERVING, nothing held; SERVING and served again once Redis is back', async () => {
    const { client, ctx, address } = engine;
    const sku = uniqueName('outage-');
    await client.updateStock({ sku, total: 10 });
    await client.reserveStock({ userId: 'u', items: [{ sku, qty: 1 }] });
    await redis.kill('SIGKILL');

    const started = Date.now();
    await expectRefused(client.reserveStock({ userId: 'u', items: [{ sku, qty: 1 }] }), grpc.status.UNAVAILABLE, 'UNAVAILABLE');
    await expectRefused(client.getStock({ sku }), grpc.status.UNAVAILABLE, 'UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(4000);
    await expect.poll(() => healthOf(address, INVENTORY_SERVICE), { timeout: 5000 }).toBe('NOT_SERVING');

    await redis.start();
    await expect.poll(() => healthOf(address, INVENTORY_SERVICE), { timeout: 15_000, interval: 200 }).toBe('SERVING');
    await client.reserveStock({ userId: 'u', items: [{ sku, qty: 1 }] });
    // The AOF kept the first hold; the refused one held nothing.
    expect(await rawCounters(ctx, sku)).toEqual({ total: 10, available: 8, reserved: 2, sold: 0 });
  });
});

describe('npm start with WORKERS=2', () => {
  afterAll(removeEngineDirs);

  it('serves gRPC on GRPC_PORT from the workers, and stops with exit 0 on SIGTERM', async () => {
    const grpcPort = await freePort();
    const engine = await startEngine({ WORKERS: '2', GRPC_PORT: String(grpcPort) });
    const address = `127.0.0.1:${grpcPort}`;
    // One channel per client: connections are spread over the workers.
    const clients = Array.from({ length: 4 }, () => createInventoryClient(address, { adminToken: 'secret' }));
    try {
      expect(await healthOf(address, INVENTORY_SERVICE)).toBe('SERVING');
      await clients[0].updateStock({ sku: 'tv-55', total: 100 });
      const answers = await Promise.all(clients.map((client, n) => client.reserveStock({ userId: `u-${n}`, items: [{ sku: 'tv-55', qty: 1 }] })));
      expect(answers.map((answer) => answer.reservation!.status)).toEqual(['PENDING', 'PENDING', 'PENDING', 'PENDING']);
      expect((await clients[3].getStock({ sku: 'tv-55' })).stock).toMatchObject({ total: 100, available: 96, reserved: 4 });
      expect(engine.output().match(/gRPC \(flashsale.v1.Inventory, health, reflection\) listening/g)).toHaveLength(2);
    } finally {
      for (const client of clients) client.close();
    }
    engine.child.kill('SIGTERM');
    expect(await engine.exited).toBe(0);
  });
});

describe('GRPC_PORT', () => {
  it('is 50051 unless set; off serves no gRPC; 0 takes a free port; anything else refuses to start', () => {
    expect(loadConfig({}).grpcPort).toBe(50051);
    expect(loadConfig({ GRPC_PORT: 'off' }).grpcPort).toBeUndefined();
    expect(loadConfig({ GRPC_PORT: '0' }).grpcPort).toBe(0);
    for (const bad of ['no', '65536', '-1', '1.5']) expect(() => loadConfig({ GRPC_PORT: bad })).toThrow(ConfigError);
  });
});

describe('ticket messages', () => {
  it('units ahead past the largest int32 read as that, never as a wrapped negative number', () => {
    const ticket = { id: 't', sku: 's', userId: 'u', qty: 1, orderId: null, status: 'WAITING' as const, position: 300_000, unitsAhead: 3_000_000_000, unitsLeft: 5, lobby: false, joinedAt: '2026-01-01T00:00:00.000Z', pollAfterMs: 2000, reservation: null };
    const message = ticketMessage(ticket);
    expect(message.unitsAhead).toBe(2 ** 31 - 1);
    expect(ticketMessage({ ...ticket, unitsAhead: 12 }).unitsAhead).toBe(12);
    expect(ticketMessage({ ...ticket, position: null, unitsAhead: null }).unitsAhead).toBeUndefined();
  });
});

describe('generated types', () => {
  it('src/grpc/generated/ is what `npm run grpc:generate` writes from the proto now', () => {
    const fresh = mkdtempSync(path.join(os.tmpdir(), 'fs-grpc-types-'));
    try {
      execFileSync(process.execPath, ['scripts/grpc-generate.mjs', fresh], { stdio: 'pipe' });
      const files = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name))).sort();
      const committed = 'src/grpc/generated';
      expect(files(committed)).toEqual(files(fresh));
      for (const file of files(fresh)) expect(readFileSync(path.join(committed, file), 'utf8'), file).toBe(readFileSync(path.join(fresh, file), 'utf8'));
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});

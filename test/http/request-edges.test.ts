import { type Socket, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestContext, createTestContext } from '../support/context';
import { expectErrorShape } from '../support/http';

/** Errors the HTTP layer raises before or around the routes, over a real socket where a client would see them. */
let ctx: TestContext;
let port: number;
beforeAll(async () => {
  ctx = await createTestContext({ listen: true });
  port = Number(new URL(ctx.baseUrl).port);
});
afterAll(() => ctx.close());

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  statusCode: number;
  json(): any;
}

/** One connection, written byte for byte (no client normalizes the path or refuses a header), its answers read one at a time. */
class RawConnection {
  private received = Buffer.alloc(0);
  private readonly socket: Socket;
  /** Settles when the connection is gone, closed or reset. */
  readonly closed: Promise<void>;

  constructor() {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk) => (this.received = Buffer.concat([this.received, chunk])));
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /** Resolves once the data is handed to the kernel; rejects when the server reset the connection. */
  send(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  /** The next whole answer (with a content-length), read within 10 s. */
  async answer(): Promise<RawAnswer> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const end = this.received.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [statusLine, ...lines] = this.received.subarray(0, end).toString().split('\r\n');
        const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
        const length = Number(headers['content-length']);
        if (this.received.length >= end + 4 + length) {
          const body = this.received.subarray(end + 4, end + 4 + length).toString();
          this.received = this.received.subarray(end + 4 + length);
          const status = Number(statusLine.split(' ')[1]);
          return { status, headers, body, statusCode: status, json: () => JSON.parse(body) };
        }
      }
      if (Date.now() > deadline || this.socket.destroyed) throw new Error(`no whole answer; received ${JSON.stringify(this.received.toString().slice(0, 300))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** What one request written raw is answered. */
async function rawAnswer(request: string): Promise<RawAnswer> {
  const connection = new RawConnection();
  try {
    await connection.send(request);
    return await connection.answer();
  } finally {
    connection.close();
  }
}

describe("requests Node's HTTP parser refuses are answered in the one error shape, and the connection closed", () => {
  it.each([
    ['a malformed request line', 'GET /health HTTP/1.1 junk\r\nhost: x\r\n\r\n', 400, 'VALIDATION_FAILED'],
    ['Content-Length together with Transfer-Encoding', 'POST /v1/availability HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'VALIDATION_FAILED'],
    ['headers over the limit', `GET /health HTTP/1.1\r\nhost: x\r\nx-filler: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
  ])('%s', async (_name, request, status, code) => {
    const answer = await rawAnswer(request);
    expectErrorShape(answer, status, code);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.headers.connection).toBe('close');
  });
});

describe('a header a request carries once, sent twice, is refused (as gRPC refuses repeated metadata)', () => {
  const sku = 'twice-sku';
  beforeAll(async () => {
    await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { total: 3 } });
  });
  const reserveWith = (headers: string) => {
    const body = JSON.stringify({ userId: 'twice', items: [{ sku, qty: 1 }] });
    return rawAnswer(`POST /v1/reservations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${headers}connection: close\r\n\r\n${body}`);
  };

  it('two Idempotency-Key headers: 400 VALIDATION_FAILED, nothing held (Node would join them into one key "k1, k2")', async () => {
    const answer = await reserveWith('idempotency-key: k1\r\nIdempotency-Key: k2\r\n');
    expectErrorShape(answer, 400, 'VALIDATION_FAILED');
    expect(answer.json().error.details).toEqual({ in: 'header', key: 'idempotency-key', count: 2 });
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).json()).toMatchObject({ available: 3, reserved: 0 });
    // One key holding ", " is still one key.
    expect((await reserveWith('idempotency-key: k1, k2\r\n')).status).toBe(201);
  });

  it('two Authorization headers: 400 VALIDATION_FAILED, whichever comes first (Node would keep the first)', async () => {
    const good = `authorization: Bearer ${ADMIN_TOKEN}\r\n`;
    for (const headers of [`${good}authorization: Bearer guess\r\n`, `authorization: Bearer guess\r\n${good}`]) {
      const answer = await rawAnswer(`PUT /v1/admin/skus/${sku} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 13\r\n${headers}connection: close\r\n\r\n{"total": 10}`);
      expectErrorShape(answer, 400, 'VALIDATION_FAILED');
    }
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).json().total).toBe(3);
  });

  it('a route that does not read the header ignores it: two Authorization headers on a client route with no API_TOKEN and on /metrics with no METRICS_TOKEN, two Idempotency-Keys on a read', async () => {
    const answer = await reserveWith('authorization: Bearer a\r\nauthorization: Bearer b\r\n');
    expect(answer.status).toBe(201);
    const read = await rawAnswer(`GET /v1/skus/${sku} HTTP/1.1\r\nhost: x\r\nidempotency-key: k1\r\nidempotency-key: k2\r\nconnection: close\r\n\r\n`);
    expect(read.status).toBe(200);
    expect(read.json()).toMatchObject({ sku });
    // /metrics checks no token without METRICS_TOKEN.
    const scrape = await rawAnswer('GET /metrics HTTP/1.1\r\nhost: x\r\nauthorization: Bearer a\r\nauthorization: Bearer b\r\nconnection: close\r\n\r\n');
    expect(scrape.status).toBe(200);
  });
});

describe('paths the docs pages do not serve', () => {
  it.each(['/docs/static/%2e%2e/package.json', '/docs/static/%2e%2e/%2e%2e/package.json', '/docs/static/../../package.json'])('%s is 404 NOT_FOUND', async (path) => {
    expectErrorShape(await rawAnswer(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`), 404, 'NOT_FOUND');
  });
});

describe('a body with a "__proto__" field is JSON, refused for that field', () => {
  it.each([
    ['at the top', '{"userId":"u","items":[{"sku":"tv","qty":1}],"__proto__":{"admin":true}}'],
    ['in a line', '{"userId":"u","items":[{"sku":"tv","qty":1,"__proto__":{"qty":9}}]}'],
    ['spelled with escapes', '{"userId":"u","items":[{"sku":"tv","qty":1}],"\\u005f\\u005fproto\\u005f\\u005f":{}}'],
  ])('%s: 400 VALIDATION_FAILED saying why', async (_name, payload) => {
    const answer = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers: { 'content-type': 'application/json' }, payload });
    expectErrorShape(answer, 400, 'VALIDATION_FAILED');
    expect(answer.json().error.message).toContain('"__proto__"');
  });

  it('a body that is not JSON is still 400 INVALID_JSON, saying where', async () => {
    const answer = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', headers: { 'content-type': 'application/json' }, payload: '{"userId":' });
    expectErrorShape(answer, 400, 'INVALID_JSON');
    expect(answer.json().error.message).toMatch(/^Body is not valid JSON: /);
  });
});

describe('a body over the 64 KiB limit', () => {
  const twoMiB = JSON.stringify({ userId: 'u', items: [{ sku: 'tv', qty: 1 }], orderId: 'o'.repeat(2 * 1024 * 1024) });

  it('fetch of a 2 MiB body reads the 413 in the error shape', async () => {
    const response = await fetch(`${ctx.baseUrl}/v1/reservations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: twoMiB });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) } });
  });

  it('a client still sending when the 413 comes may send the rest, and then use the connection again', async () => {
    const connection = new RawConnection();
    try {
      const body = Buffer.from(twoMiB);
      await connection.send(`POST /v1/reservations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
      await connection.send(body.subarray(0, 100_000));
      expectErrorShape(await connection.answer(), 413, 'PAYLOAD_TOO_LARGE');
      // The rest, slowly, after the answer: the server reads it instead of resetting the connection.
      for (let offset = 100_000; offset < body.length; offset += 256 * 1024) {
        await connection.send(body.subarray(offset, offset + 256 * 1024));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await connection.send('GET /health HTTP/1.1\r\nhost: x\r\n\r\n');
      const health = await connection.answer();
      expect(health.status).toBe(200);
    } finally {
      connection.close();
    }
  });

  it('a client sending far more than that is cut off once 16 MiB were read', async () => {
    const connection = new RawConnection();
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    try {
      await connection.send(`POST /v1/reservations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${64 * chunk.length}\r\n\r\n`);
      expectErrorShape(await connection.answer(), 413, 'PAYLOAD_TOO_LARGE');
      const cut = await (async () => {
        for (; sent < 64 * chunk.length; sent += chunk.length) await connection.send(chunk);
        return false;
      })().catch(() => true);
      await connection.closed;
      expect(cut).toBe(true);
      expect(sent).toBeGreaterThanOrEqual(16 * chunk.length);
    } finally {
      connection.close();
    }
  });
});

describe('a SKU named "." or "..", which only a raw client can address', () => {
  it.each(['.', '..', '%2e', '%2E%2E'])('PUT /v1/admin/skus/%s is 400 VALIDATION_FAILED', async (name) => {
    const body = '{"total":1}';
    const answer = await rawAnswer(
      `PUT /v1/admin/skus/${name} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    expectErrorShape(answer, 400, 'VALIDATION_FAILED');
  });
});

import dns from 'node:dns';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NonPublicAddress, hostOf, publicAddressesOf } from '../../src/webhooks/destination';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher';
import { failureClass } from '../../src/webhooks/failureClass';
import { post } from '../../src/webhooks/post';
import { nonPublicRange } from '../../src/webhooks/publicAddress';
import { adminHeaders, createSku, createTestContext, type TestContext, uniqueName } from '../support/context';
import { expectErrorShape } from '../support/http';
import { startReceiver, type WebhookReceiver } from '../support/webhookReceiver';

/**
 * Webhook URLs on non-public addresses (SSRF): refused at registration and again at each delivery
 * unless WEBHOOK_ALLOW_PRIVATE is on, in whatever spelling the URL names them; and what a failed
 * delivery records is the class of its failure, never what the other side sent.
 */

const SECRET = 'whsec-test-0123456789abcdef';
const ALLOW_PRIVATE = { WEBHOOK_ALLOW_PRIVATE: 'on' };

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0).reverse()) await close();
});

async function context(env: Record<string, string> = {}): Promise<TestContext> {
  const ctx = await createTestContext({ env });
  closers.push(() => ctx.close());
  return ctx;
}

function dispatch(ctx: TestContext, allowPrivate: boolean): void {
  const webhooks = new WebhookDispatcher(ctx.db, { timeoutMs: 2000, retryBaseMs: 100, retryForMs: 60_000, pollMs: 50, allowPrivate }).start();
  closers.push(() => webhooks.stop());
}

async function receiver(): Promise<WebhookReceiver> {
  const started = await startReceiver();
  closers.push(() => started.close());
  return started;
}

/** DNS answering `addresses` for every name, as a resolver under someone else's control could. */
function dnsAnswers(...addresses: string[]): void {
  const answer = addresses.map((address) => ({ address, family: net.isIP(address) }));
  vi.spyOn(dns.promises, 'lookup').mockImplementation((async () => answer) as never);
}

const register = (ctx: TestContext, id: string, url: string) =>
  ctx.app.inject({ method: 'PUT', url: `/v1/admin/webhooks/${id}`, headers: adminHeaders, payload: { url, events: ['reservation.created'], secret: SECRET } });

const endpoints = async (ctx: TestContext) => (await ctx.app.inject({ method: 'GET', url: '/v1/admin/webhooks', headers: adminHeaders })).json().items;

const attempts = async (ctx: TestContext, id: string) =>
  (await ctx.app.inject({ method: 'GET', url: `/v1/admin/webhooks/${id}/deliveries`, headers: adminHeaders }))
    .json()
    .items.flatMap((item: { attempts: unknown[] }) => item.attempts);

/** Records one reservation.created event for every endpoint. */
async function recordEvent(ctx: TestContext): Promise<void> {
  const sku = uniqueName('sku-');
  await createSku(ctx, sku, { total: 5 });
  await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: uniqueName('u-'), items: [{ sku, qty: 1 }] } });
  await ctx.reconciler.run('api');
}

/** The range of a URL's host, as registration and delivery judge it. */
const rangeOf = (url: string) => nonPublicRange(hostOf(new URL(url)));

/** URLs the issue found registered and POSTed to, each with the range it is in. */
const NON_PUBLIC_URLS: [url: string, range: string][] = [
  ['http://127.0.0.1:6379/', 'loopback'],
  ['http://169.254.169.254/latest/meta-data/', 'link-local'],
  ['http://[::1]:6379/', 'loopback'],
  ['http://2130706433:6379/', 'loopback'],
  ['http://0x7f000001/', 'loopback'],
  ['http://[::ffff:127.0.0.1]/', 'loopback'],
  ['http://127.0.0.1:3000/v1/admin/skus/tv-55', 'loopback'],
];

describe('which addresses are public', () => {
  it('refuses loopback, private, link-local, multicast and reserved hosts in every spelling a URL accepts', () => {
    const spellings: [url: string, range: string][] = [
      ...NON_PUBLIC_URLS,
      ['http://0177.0.0.1/', 'loopback'],
      ['http://0x7f.1/', 'loopback'],
      ['http://127.1/', 'loopback'],
      ['http://017700000001/', 'loopback'],
      ['http://%31%32%37.0.0.1/', 'loopback'],
      ['http://127.0.0.1./', 'loopback'],
      ['http://127.255.255.254/', 'loopback'],
      ['http://[0:0:0:0:0:ffff:7f00:1]/', 'loopback'],
      ['http://[::127.0.0.1]/', 'loopback'],
      ['http://[64:ff9b::7f00:1]/', 'loopback'],
      ['http://[2002:7f00:1::1]/', 'loopback'],
      ['http://0/', 'unspecified'],
      ['http://0.0.0.0/', 'unspecified'],
      ['http://[::]/', 'unspecified'],
      ['http://10.0.0.1/', 'private'],
      ['http://172.16.0.1/', 'private'],
      ['http://172.31.255.255/', 'private'],
      ['http://192.168.1.1/', 'private'],
      ['http://3232235777/', 'private'],
      ['http://[::ffff:a00:1]/', 'private'],
      ['http://100.64.0.1/', 'carrier-grade NAT'],
      ['http://100.127.255.255/', 'carrier-grade NAT'],
      ['http://2852039166/', 'link-local'],
      ['http://[::ffff:169.254.169.254]/', 'link-local'],
      ['http://[fe80::1]/', 'link-local'],
      ['http://[fc00::1]/', 'unique-local'],
      ['http://[fd12:3456::1]/', 'unique-local'],
      ['http://224.0.0.1/', 'multicast'],
      ['http://239.255.255.250/', 'multicast'],
      ['http://[ff02::1]/', 'multicast'],
      ['http://255.255.255.255/', 'broadcast'],
      ['http://240.0.0.1/', 'reserved'],
      ['http://192.0.0.1/', 'reserved'],
      ['http://[2001::1]/', 'reserved'],
      ['http://[100::1]/', 'reserved'],
      ['http://[::5db8:d822]/', 'reserved'],
      ['http://192.0.2.1/', 'documentation'],
      ['http://198.51.100.1/', 'documentation'],
      ['http://203.0.113.1/', 'documentation'],
      ['http://[2001:db8::1]/', 'documentation'],
      ['http://198.18.0.1/', 'benchmarking'],
      ['http://198.19.255.255/', 'benchmarking'],
    ];
    expect(spellings.map(([url]) => [url, rangeOf(url)])).toEqual(spellings);
  });

  it('allows public hosts, also in the IPv6 forms that carry an IPv4 address', () => {
    const allowed = [
      'http://93.184.216.34/',
      'http://1572395042/',
      'http://8.8.8.8/',
      'http://172.32.0.1/',
      'http://100.128.0.1/',
      'http://169.253.255.255/',
      'http://223.255.255.255/',
      'https://[2606:4700::1]/',
      'https://[2001:4860:4860::8888]/',
      'http://[::ffff:93.184.216.34]/',
      'http://[64:ff9b::5db8:d822]/',
    ];
    expect(allowed.filter((url) => rangeOf(url) !== undefined)).toEqual([]);
  });

  it('judges addresses only: a name is for DNS to answer', async () => {
    expect(() => nonPublicRange('localhost')).toThrow(TypeError);
    await expect(publicAddressesOf(new URL('http://localhost:3000/'))).rejects.toMatchObject({ host: 'localhost', range: 'loopback' });
    // One non-public answer among public ones is enough: the connection may pick it.
    dnsAnswers('93.184.216.34', '10.0.0.7');
    const mixed = await publicAddressesOf(new URL('https://hooks.shop.example/')).catch((error: unknown) => error);
    expect(mixed).toBeInstanceOf(NonPublicAddress);
    expect(mixed).toMatchObject({ message: 'hooks.shop.example resolves to 10.0.0.7, a private address' });
    dnsAnswers('93.184.216.34', '2606:4700::1');
    expect(await publicAddressesOf(new URL('https://hooks.shop.example/'))).toHaveLength(2);
  });
});

describe('registering a webhook URL', () => {
  it('refuses a non-public host with 400 VALIDATION_FAILED naming WEBHOOK_ALLOW_PRIVATE, and stores nothing', async () => {
    const ctx = await context();
    for (const [url, range] of [...NON_PUBLIC_URLS, ['http://localhost:3000/hooks', 'loopback'], ['http://[fe80::1]/hooks', 'link-local']]) {
      const answer = await register(ctx, 'orders', url);
      expectErrorShape(answer, 400, 'VALIDATION_FAILED');
      expect(answer.json().error.message).toContain(`a ${range} address`);
      expect(answer.json().error.message).toContain('WEBHOOK_ALLOW_PRIVATE');
    }
    dnsAnswers('93.184.216.34', '169.254.169.254');
    const rebinding = await register(ctx, 'orders', 'https://hooks.shop.example/flashsale');
    expectErrorShape(rebinding, 400, 'VALIDATION_FAILED');
    expect(rebinding.json().error.message).toBe(
      'url is not usable: hooks.shop.example resolves to 169.254.169.254, a link-local address; webhooks are sent only to public addresses unless WEBHOOK_ALLOW_PRIVATE is on.',
    );
    expect(await endpoints(ctx)).toEqual([]);
  });

  it('takes public hosts, and names DNS cannot answer for yet (each delivery checks again)', async () => {
    const ctx = await context();
    for (const url of ['http://93.184.216.34/hooks', 'https://[2606:4700::1]/hooks', 'https://hooks.shop.example/flashsale']) {
      expect((await register(ctx, uniqueName('w'), url)).statusCode).toBe(201);
    }
    dnsAnswers('93.184.216.34');
    expect((await register(ctx, 'resolved', 'https://hooks.shop.example/flashsale')).statusCode).toBe(201);
    expect(await endpoints(ctx)).toHaveLength(4);
  });

  it('takes every host with WEBHOOK_ALLOW_PRIVATE on, as before', async () => {
    const ctx = await context(ALLOW_PRIVATE);
    for (const [url] of NON_PUBLIC_URLS) expect((await register(ctx, uniqueName('w'), url)).statusCode).toBe(201);
    expect((await register(ctx, 'local', 'http://localhost:3000/hooks')).statusCode).toBe(201);
    expect(await endpoints(ctx)).toHaveLength(NON_PUBLIC_URLS.length + 1);
    // The other checks still hold.
    expectErrorShape(await register(ctx, 'w', 'ftp://127.0.0.1/hooks'), 400, 'VALIDATION_FAILED');
    expectErrorShape(await register(ctx, 'w', 'http://user:pass@127.0.0.1/hooks'), 400, 'VALIDATION_FAILED');
  });
});

describe('delivering to a webhook URL', () => {
  it('checks the host again at each delivery: a non-public one is recorded as refused and retried, and nothing reaches it', async () => {
    // Registered while private hosts were allowed; the dispatcher of an engine without the setting sends.
    const ctx = await context(ALLOW_PRIVATE);
    const byAddress = await receiver();
    const byName = await receiver();
    expect((await register(ctx, 'by-address', byAddress.url)).statusCode).toBe(201);
    expect((await register(ctx, 'by-name', byName.url.replace('127.0.0.1', 'localhost'))).statusCode).toBe(201);
    dispatch(ctx, false);
    await recordEvent(ctx);
    for (const id of ['by-address', 'by-name']) {
      await expect.poll(async () => (await attempts(ctx, id)).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
      for (const attempt of await attempts(ctx, id)) expect(attempt).toMatchObject({ statusCode: null, error: 'refused: non-public address' });
    }
    expect([byAddress.connections(), byName.connections()]).toEqual([0, 0]);
    expect([byAddress.received, byName.received]).toEqual([[], []]);
  });

  it('connects to the address that was checked, whatever DNS answers by then', async () => {
    const hooks = await receiver();
    const { port } = new URL(hooks.url);
    const rebound = new URL(`http://hooks.rebound.example:${port}/hooks`);
    const send = (addresses?: { address: string; family: number }[]) =>
      post(rebound, { headers: { 'content-type': 'application/json' }, body: '{"id":"e1"}', signal: AbortSignal.timeout(5000), addresses });
    // DNS has no answer for the name (here: any more); the pinned address is used all the same.
    expect(await send([{ address: '127.0.0.1', family: 4 }])).toBe(200);
    expect(hooks.received.map((r) => [r.headers.host, r.rawBody])).toEqual([[`hooks.rebound.example:${port}`, '{"id":"e1"}']]);
    expect(failureClass(await send().catch((error: unknown) => error))).toBe('DNS lookup failed');
  });

  it('records what class of failure an attempt met, never what the other side sent', async () => {
    const ctx = await context(ALLOW_PRIVATE);
    // Something that is not an HTTP server (Redis, say) answers with a line of its own.
    const notHttp = net.createServer((socket) => socket.once('data', () => socket.end('-ERR unknown command POST, with-a-detail-to-keep-private\r\n')));
    await new Promise<void>((resolve) => notHttp.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => notHttp.close(resolve)));
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await register(ctx, 'not-http', `http://127.0.0.1:${(notHttp.address() as net.AddressInfo).port}/hooks`);
    await register(ctx, 'closed', `http://127.0.0.1:${closedPort}/hooks`);
    dispatch(ctx, true);
    await recordEvent(ctx);
    const firstError = async (id: string) => (await attempts(ctx, id))[0]?.error;
    await expect.poll(() => firstError('not-http'), { timeout: 15_000 }).toBe('not an HTTP answer');
    await expect.poll(() => firstError('closed'), { timeout: 15_000 }).toBe('connection refused');
  });
});

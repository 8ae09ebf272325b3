/**
 * Fuzzes every route that takes input with valid shapes and hostile values, against the real
 * Redis and Postgres. Properties: every answer is 2xx or 4xx, never 5xx; every 4xx has the one
 * error shape; a 4xx never moves a SKU's counters in Redis.
 *
 * Reproduce a failure with the seed fast-check prints: FUZZ_SEED=<seed> npx vitest run test/http/route-fuzz.test.ts
 * (FUZZ_RUNS=<n> sets the runs per property).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TOTAL, PARTY_ID_PATTERN, SKU_PATTERN } from '../../src/domain/sku';
import { RESERVATION_ID_PATTERN } from '../../src/domain/ids';
import { type TestContext, adminHeaders, createSku, createTestContext, rawCounters, uniqueName } from '../support/context';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const runs = { seed, numRuns: Number(process.env.FUZZ_RUNS ?? 150) };

let ctx: TestContext;
/** Existing SKUs the requests aim at, so valid shapes get past validation into the scripts. */
const pool = { open: uniqueName('fz-open-'), limited: uniqueName('fz-limited-'), updated: uniqueName('fz-updated-') };
const poolSkus = Object.values(pool);
/** Ids of reservations made so far, for commit, release, extend and read. */
const reservationIds: string[] = [];

beforeAll(async () => {
  ctx = await createTestContext();
  await createSku(ctx, pool.open, { total: 5000 });
  await createSku(ctx, pool.limited, { total: 5000, perUserLimit: 3 });
  await createSku(ctx, pool.updated, { total: 100 });
  for (const userId of ['u-1', 'u-2']) {
    const response = await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId, orderId: 'o-1', items: [{ sku: pool.open, qty: 1 }], ttlSeconds: 3600 } });
    reservationIds.push(response.json().id);
  }
});
afterAll(() => ctx.close());

// ---- hostile values -------------------------------------------------------------------------

/** Marks JSON number text that JSON.stringify cannot write (1e400 parses as Infinity). */
const RAW = '\u{10FFFF}raw:';
const rawNumber = fc.constantFrom('1e400', '-1e400', '1e-400', '123456789012345678901234567890', '-0.0e0', '1.0', '1E2').map((text) => RAW + text);
function toJson(value: unknown): string {
  return JSON.stringify(value).replace(new RegExp(`"${RAW}([^"]*)"`, 'gu'), '$1');
}

const oddString = fc.oneof(
  fc.constantFrom('', ' ', '{tv}', 'a b', 'a\u0000b', '../..', '%00', '%ZZ', 'é', '😀', '\ud800', '\u202e', '\ufeff', 'null', '1', '-1', 'NaN', 'Infinity', '__proto__', 'constructor', '<script>', "'; drop table skus; --", 's'.repeat(65), 'u'.repeat(129), 'r'.repeat(501)),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const oddNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 0.5, 1.5, 10_000, 10_001, 3600, 3601, MAX_TOTAL, MAX_TOTAL + 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e21, 1e308, Number.MIN_VALUE),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  rawNumber,
);
const anyValue: fc.Arbitrary<unknown> = fc.oneof(oddString, oddNumber, fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({}), fc.jsonValue({ maxDepth: 2 }));

/**
 * Every body comes in two flavours: valid throughout, so it reaches the scripts, or hostile:
 * any field may be anything, be left out, or come with extra fields.
 */
const eitherFlavour = <T>(build: (hostile: boolean) => fc.Arbitrary<T>) => fc.oneof(build(false), build(true));
const field = (valid: fc.Arbitrary<unknown>, hostile: boolean) => (hostile ? fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: anyValue }) : valid);

/** Object.fromEntries makes `__proto__` an own field, as JSON.parse would. */
function jsonObject(fields: Record<string, fc.Arbitrary<unknown>>, hostile: boolean): fc.Arbitrary<Record<string, unknown>> {
  if (!hostile) return fc.record(fields);
  const entries = Object.entries(fields).map(([name, value]) =>
    fc.oneof({ weight: 6, arbitrary: value.map((v) => [[name, v]] as [string, unknown][]) }, { weight: 1, arbitrary: fc.constant([] as [string, unknown][]) }),
  );
  const extra = fc.option(fc.array(fc.tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'location', 'extra'), oddString), anyValue), { maxLength: 2 }), { freq: 3, nil: [] });
  return fc.tuple(fc.tuple(...entries), extra).map(([present, extras]) => Object.fromEntries([...present.flat(), ...extras]));
}

// ---- fields ---------------------------------------------------------------------------------

const validSku = fc.stringMatching(new RegExp(SKU_PATTERN));
/** Mostly the always-open SKU, so that whole carts get held now and then. */
const knownSku = fc.oneof(
  { weight: 8, arbitrary: fc.constant(pool.open) },
  { weight: 2, arbitrary: fc.constantFrom(pool.limited, pool.updated) },
  { weight: 1, arbitrary: validSku },
);
const userId = fc.oneof(fc.constantFrom('u-1', 'u-2', 'buyer@shop.example'), fc.stringMatching(new RegExp(PARTY_ID_PATTERN)));
const qty = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 20 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 10_000 }) });
const lineItems = (hostile: boolean) => {
  const line = jsonObject({ sku: hostile ? fc.oneof(knownSku, oddString) : knownSku, qty: field(qty, hostile) }, hostile);
  if (!hostile) return fc.array(line, { minLength: 1, maxLength: 3 });
  return fc.oneof({ weight: 8, arbitrary: fc.array(line, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: fc.array(line, { maxLength: 55 }) }, { weight: 1, arbitrary: anyValue });
};
/** No hold made here may expire during the run: its expiry would move counters on a later 409. */
const ttlSeconds = (hostile: boolean) =>
  field(fc.integer({ min: 600, max: 3600 }), hostile).filter((value) => !(Number.isInteger(value) && (value as number) >= 1 && (value as number) < 600));

/** Times built from parts, so the test knows which instant (if any) each one names. */
interface TimeParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  fraction: string;
  separator: string;
  zone: string;
}
/** Each part valid nine times in ten, so that a time is often wrong in one part only. */
const part = <T>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: odd });
const timeParts: fc.Arbitrary<TimeParts> = fc.record({
  year: part(fc.oneof(fc.integer({ min: 1970, max: 2100 }), fc.integer({ min: 1970, max: 9999 })), fc.constantFrom(0, 1, 70, 99, 100, 1969, 10_000)),
  month: part(fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 13)),
  day: part(fc.integer({ min: 1, max: 31 }), fc.constantFrom(0, 32)),
  hour: part(fc.integer({ min: 0, max: 23 }), fc.constant(24)),
  minute: part(fc.integer({ min: 0, max: 59 }), fc.constant(60)),
  second: part(fc.integer({ min: 0, max: 59 }), fc.constantFrom(60, 61)),
  fraction: part(fc.oneof(fc.constant(''), fc.stringMatching(/^\.\d{1,9}$/)), fc.oneof(fc.constant('.'), fc.stringMatching(/^\.\d{10,14}$/))),
  separator: part(fc.constantFrom('T', 't'), fc.constantFrom(' ', '\t', '_', '\u2028')),
  zone: part(fc.constantFrom('Z', 'z', '+00:00', '-00:00', '+01:00', '+0100', '-23:59', '+05:30'), fc.constantFrom('', '+01', '+24:00', '-1:00', '+00:60')),
});
const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const timeText = (p: TimeParts) =>
  `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}${p.separator}${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${p.fraction}${p.zone}`;

function zoneOffsetMinutes(zone: string): number | null {
  if (zone === 'Z' || zone === 'z') return 0;
  const match = /^([+-])(\d\d):?(\d\d)$/.exec(zone);
  if (!match || Number(match[2]) > 23 || Number(match[3]) > 59) return null;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * The instant a time names when the API must take it (RFC 3339 with T, at most 9 fraction digits,
 * no leap second, 1970..9999 UTC), else null.
 */
function intendedInstant(p: TimeParts): number | null {
  const offset = zoneOffsetMinutes(p.zone);
  const fractionDigits = p.fraction.length - 1;
  if (offset === null || p.year > 9999 || (p.separator !== 'T' && p.separator !== 't') || fractionDigits === 0 || fractionDigits > 9) return null;
  const date = new Date(0);
  date.setUTCFullYear(p.year, p.month - 1, p.day);
  const realDay = date.getUTCMonth() === p.month - 1 && date.getUTCDate() === p.day;
  if (p.month < 1 || p.month > 12 || !realDay || p.hour > 23 || p.minute > 59 || p.second > 59) return null;
  date.setUTCHours(p.hour, p.minute, p.second, Number(p.fraction.slice(1, 4).padEnd(3, '0')));
  const ms = date.getTime() - offset * 60_000;
  return ms >= 0 && ms <= LATEST_MS ? ms : null;
}

const validTime = fc.date({ min: new Date(0), max: new Date(LATEST_MS), noInvalidDate: true }).map((date) => date.toISOString());
const windowTime = (hostile: boolean) =>
  hostile ? fc.oneof(fc.constant(null), timeParts.map(timeText), anyValue) : fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: validTime });

// ---- requests -------------------------------------------------------------------------------

interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

/** %-encodes what can be; a lone surrogate cannot, and goes raw. */
function encodeSegment(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A path segment: valid, encoded hostile text, or raw hostile text (bad %-escapes, too long). */
const segment = (valid: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 8, arbitrary: valid },
    { weight: 1, arbitrary: oddString.map(encodeSegment) },
    { weight: 1, arbitrary: fc.constantFrom('%ZZ', '%', '%E0%A4%A', 'x'.repeat(101), '%7Bx%7D', '.', '..') },
  );

const adminAuth = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Record<string, string>>(adminHeaders) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>({}, { authorization: 'Bearer wrong' }, { authorization: 'bearer test-admin-token' }, { authorization: 'Bearer ' }) },
);
const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/problem+json') },
);
/** A JSON body, or now and then text that is not quite one. */
const payload = (body: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 12, arbitrary: body.map(toJson) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', 'null', '[]', '"text"', '1', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', '\ufeff{}', '['.repeat(5000) + ']'.repeat(5000)) },
  );

function bodyRequest(method: 'POST' | 'PUT', url: fc.Arbitrary<string>, body: fc.Arbitrary<unknown>, headers: fc.Arbitrary<Record<string, string>> = fc.constant({})) {
  return fc
    .record({ url, headers, contentType, payload: payload(body) })
    .map(({ url, headers, contentType, payload }): FuzzRequest => ({ method, url, headers: { ...headers, 'content-type': contentType }, payload }));
}

const idempotencyHeader = fc
  .oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.constantFrom('k-1', 'cart 17 checkout 2', '~!@#$%^&*()') },
    { weight: 1, arbitrary: fc.oneof(oddString, fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 300 })) },
  )
  .map((key): Record<string, string> => (key === undefined ? {} : { 'idempotency-key': key }));

/** `#n` is resolved to a known reservation id when sent. */
const reservationId = fc.oneof({ weight: 4, arbitrary: fc.nat().map((n) => `#${n}`) }, { weight: 1, arbitrary: fc.stringMatching(new RegExp(RESERVATION_ID_PATTERN)) });

const requests = {
  'PUT /v1/admin/skus/:sku': bodyRequest(
    'PUT',
    // Of the pool only `updated`: a window set on the others would close them to reserves for the run.
    segment(fc.oneof(fc.constant(pool.updated), validSku)).map((target) => `/v1/admin/skus/${target}`),
    eitherFlavour((hostile) =>
      jsonObject(
        {
          total: field(fc.integer({ min: 0, max: 6000 }), hostile),
          perUserLimit: field(fc.option(fc.integer({ min: 1, max: 10 })), hostile),
          startsAt: windowTime(hostile),
          endsAt: windowTime(hostile),
        },
        hostile,
      ),
    ),
    adminAuth,
  ),
  'POST /v1/admin/skus/:sku/adjust': bodyRequest(
    'POST',
    segment(knownSku).map((target) => `/v1/admin/skus/${target}/adjust`),
    eitherFlavour((hostile) =>
      jsonObject(
        {
          delta: field(fc.oneof(fc.integer({ min: -20, max: 20 }), fc.integer({ min: -MAX_TOTAL, max: MAX_TOTAL })).filter((delta) => delta !== 0), hostile),
          reason: field(fc.oneof(fc.constant('restock'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 })), hostile),
        },
        hostile,
      ),
    ),
    adminAuth,
  ),
  'GET /v1/admin/skus/:sku/movements and /v1/admin/reconcile/runs': fc
    .record({
      path: fc.oneof(segment(fc.constantFrom(...poolSkus)).map((target) => `/v1/admin/skus/${target}/movements`), fc.constant('/v1/admin/reconcile/runs')),
      query: fc.constantFrom('', '?limit=5', '?limit=', '?limit=0', '?limit=1001', '?limit=1.5', '?limit=-1', '?limit=abc', '?limit=1e3', '?limit=Infinity', '?limit=-Infinity', '?limit=1e400', '?limit=0x10', '?limit=%205', '?limit=1&limit=2', '?other=1', '?limit[]=1', '?%ZZ=1'),
      headers: adminAuth,
    })
    .map(({ path, query, headers }): FuzzRequest => ({ method: 'GET', url: `${path}${query}`, headers })),
  'POST /v1/reservations': bodyRequest(
    'POST',
    fc.constant('/v1/reservations'),
    eitherFlavour((hostile) =>
      jsonObject(
        {
          userId: field(userId, hostile),
          orderId: field(fc.constantFrom('o-1', 'o-2'), hostile),
          items: lineItems(hostile),
          ttlSeconds: ttlSeconds(hostile),
          allowPartial: field(fc.boolean(), hostile),
        },
        hostile,
      ),
    ),
    idempotencyHeader,
  ),
  'POST /v1/availability': bodyRequest('POST', fc.constant('/v1/availability'), eitherFlavour((hostile) => jsonObject({ items: lineItems(hostile) }, hostile))),
  'POST /v1/reservations/:id/extend|commit|release': fc.oneof(
    bodyRequest('POST', segment(reservationId).map((id) => `/v1/reservations/${id}/extend`), eitherFlavour((hostile) => jsonObject({ ttlSeconds: ttlSeconds(hostile) }, hostile))),
    bodyRequest('POST', fc.tuple(segment(reservationId), fc.constantFrom('commit', 'release')).map(([id, action]) => `/v1/reservations/${id}/${action}`), fc.oneof(fc.constant({}), fc.constant(null), anyValue)),
    fc.tuple(segment(reservationId), fc.constantFrom('commit', 'release')).map(([id, action]): FuzzRequest => ({ method: 'POST', url: `/v1/reservations/${id}/${action}`, headers: {} })),
  ),
  'GET /v1/reservations/:id and /v1/skus/:sku': fc.oneof(
    segment(reservationId).map((id): FuzzRequest => ({ method: 'GET', url: `/v1/reservations/${id}`, headers: {} })),
    fc.tuple(segment(knownSku), fc.constantFrom('', '?x=1', '?%ZZ')).map(([target, query]): FuzzRequest => ({ method: 'GET', url: `/v1/skus/${target}${query}`, headers: {} })),
  ),
};

// ---- properties -----------------------------------------------------------------------------

function parseJson(text: string): Record<string, any> | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const countersOf = async (skus: readonly string[]) => Promise.all(skus.map((name) => rawCounters(ctx, name)));

/** Sends a request and checks the three properties; answers the response. */
async function sendAndCheck(request: FuzzRequest) {
  const url = request.url.replace(/#(\d+)/, (_, n) => reservationIds[Number(n) % reservationIds.length]);
  // A SKU the URL names is watched too: a refused PUT must not have created it.
  const target = /^\/v1\/admin\/skus\/([^/?]+)/.exec(url)?.[1];
  const watched = target && new RegExp(SKU_PATTERN).test(target) ? [...poolSkus, target] : poolSkus;
  const before = await countersOf(watched);
  const response = await ctx.app.inject({ ...request, url });
  const what = `${request.method} ${url} ${JSON.stringify(request.headers)} ${request.payload ?? ''}\n-> ${response.statusCode} ${response.body.slice(0, 500)}`;
  expect(response.statusCode, what).toBeGreaterThanOrEqual(200);
  expect(response.statusCode, what).toBeLessThan(500);
  if (response.statusCode >= 400) {
    const body = parseJson(response.body);
    expect(body && Object.keys(body), what).toEqual(['error']);
    expect(body!.error, what).toMatchObject({ code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) });
    expect(Object.keys(body!.error).every((key) => ['code', 'message', 'details'].includes(key)), what).toBe(true);
    expect(await countersOf(watched), what).toEqual(before);
  }
  return { url, response };
}

describe('fuzz: every answer is 2xx or 4xx, every 4xx in the error shape, and a 4xx moves no counter', () => {
  it.each(Object.entries(requests))('%s', async (_route, request) => {
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        const { url, response } = await sendAndCheck(generated);
        if (response.statusCode === 201 && url === '/v1/reservations') reservationIds.push(response.json().id);
      }),
      runs,
    );
  });

  it('a sale-window time is taken exactly when it names an instant from 1970 to 9999, and as that instant', async () => {
    const target = uniqueName('fz-window-');
    await fc.assert(
      fc.asyncProperty(timeParts, fc.constantFrom('startsAt', 'endsAt'), async (parts, field) => {
        const text = timeText(parts);
        const { response } = await sendAndCheck({ method: 'PUT', url: `/v1/admin/skus/${target}`, headers: { ...adminHeaders, 'content-type': 'application/json' }, payload: JSON.stringify({ total: 1, [field]: text }) });
        const instant = intendedInstant(parts);
        if (instant === null) {
          expect(response.statusCode, text).toBe(400);
        } else {
          expect(response.statusCode, text).toBeLessThan(300);
          expect(response.json()[field], text).toBe(new Date(instant).toISOString());
        }
      }),
      runs,
    );
  });
});

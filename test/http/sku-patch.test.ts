import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SkuView } from '../../src/domain/sku';
import { mergeSkuPatch } from '../../src/domain/skuPatch';
import { REDIS_TARGETS, type TestContext, adminHeaders, createSku, createTestContext, expectConservedEverywhere, uniqueName } from '../support/context';
import { expectErrorShape } from '../support/http';

const window = { startsAt: '2020-01-01T00:00:00.000Z', endsAt: '2099-01-01T00:00:00.000Z' };
const level = (location: string, total: number, active = true) => ({ location, active, total, available: total, reserved: 0, sold: 0 });

describe('mergeSkuPatch: the PUT body a PATCH stands for', () => {
  const plain: SkuView = { sku: 'tv', total: 10, available: 10, reserved: 0, sold: 0, perUserLimit: 2, ...window, locations: [level('default', 10)], line: null };
  const located: SkuView = { ...plain, locations: [level('berlin', 6), level('paris', 4), level('rome', 0, false)] };

  it('keeps every field the patch does not name', () => {
    expect(mergeSkuPatch(plain, { total: 120 })).toEqual({ total: 120, perUserLimit: 2, ...window, line: null });
    expect(mergeSkuPatch(plain, { perUserLimit: null })).toEqual({ total: 10, perUserLimit: null, ...window, line: null });
  });

  it('names the active locations of a SKU with locations again, leaving the retired ones retired', () => {
    expect(mergeSkuPatch(located, { endsAt: null })).toEqual({ locations: [{ location: 'berlin', total: 6 }, { location: 'paris', total: 4 }], perUserLimit: 2, startsAt: window.startsAt, endsAt: null, line: null });
  });

  it('lets locations replace a plain total, and refuses a plain total for named locations', () => {
    expect(mergeSkuPatch(plain, { locations: [{ location: 'a', total: 1 }] })).toEqual({ locations: [{ location: 'a', total: 1 }], perUserLimit: 2, ...window, line: null });
    expect(() => mergeSkuPatch(located, { total: 5 })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', details: { sku: 'tv', locations: ['berlin', 'paris'] } }));
  });

  it('keeps a waiting line, merges a patch of it, and removes it on null', () => {
    const lined: SkuView = { ...plain, line: { waiting: 3, admitted: 1, holdTtlSeconds: 300, lobbySeconds: 60 } };
    expect(mergeSkuPatch(lined, { total: 12 }).line).toEqual({ holdTtlSeconds: 300, lobbySeconds: 60 });
    expect(mergeSkuPatch(lined, { line: { lobbySeconds: 0 } }).line).toEqual({ holdTtlSeconds: 300, lobbySeconds: 0 });
    expect(mergeSkuPatch(lined, { line: null }).line).toBeNull();
    expect(mergeSkuPatch(plain, { line: { holdTtlSeconds: 5 } }).line).toEqual({ holdTtlSeconds: 5 });
  });
});

describe.each(REDIS_TARGETS)('PATCH /v1/admin/skus/:sku on %s Redis', (redis) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ redis });
  });
  afterAll(() => ctx.close());

  const settings = { perUserLimit: 2, ...window };
  const patch = (sku: string, body: unknown, contentType = 'application/merge-patch+json') =>
    ctx.app.inject({ method: 'PATCH', url: `/v1/admin/skus/${sku}`, headers: { ...adminHeaders, 'content-type': contentType }, payload: JSON.stringify(body) });
  const read = async (sku: string) => (await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` })).json();

  it('PUT replaces: {"total": 20} resets the purchase limit and the sale window', async () => {
    const sku = uniqueName('put-');
    await createSku(ctx, sku, { total: 10, ...settings });
    const put = await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: { total: 20 } });
    expect(put.json()).toMatchObject({ total: 20, perUserLimit: null, startsAt: null, endsAt: null });
  });

  it('"buckets" splits a SKU over partitions and only grows: fewer, or out of range, answer 400 naming the field, and change nothing', async () => {
    const sku = uniqueName('buckets-');
    const put = (body: object) => ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: body });
    expect((await put({ total: 10, buckets: 1 })).statusCode).toBe(201);
    expect((await put({ total: 20, buckets: 4 })).json()).toMatchObject({ total: 20, available: 20, buckets: 4 });
    for (const refused of [await put({ total: 30 }), await patch(sku, { total: 30, buckets: 2 })]) {
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { buckets: expect.any(Number) } });
      expect(refused.json().error.message).toContain('buckets');
    }
    for (const outOfRange of [0, 65, 1.5]) expect((await put({ total: 30, buckets: outOfRange })).statusCode).toBe(400);
    expect(await read(sku)).toMatchObject({ total: 20, available: 20, buckets: 4 });
    expect((await patch(sku, { total: 12 })).json()).toMatchObject({ total: 12, buckets: 4 });
  });

  it('{"total": 120} keeps the purchase limit and the sale window, as merge patch and as plain JSON', async () => {
    const sku = uniqueName('patch-');
    await createSku(ctx, sku, { total: 100, ...settings });
    const patched = await patch(sku, { total: 120 });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ total: 120, available: 120, ...settings });
    const again = await patch(sku, { total: 130 }, 'application/json');
    expect(again.json()).toMatchObject({ total: 130, ...settings });
    expect(await read(sku)).toEqual(again.json());
  });

  it('null resets a nullable field; other fields keep theirs', async () => {
    const sku = uniqueName('reset-');
    await createSku(ctx, sku, { total: 5, ...settings });
    expect((await patch(sku, { perUserLimit: null })).json()).toMatchObject({ total: 5, perUserLimit: null, ...window });
    expect((await patch(sku, { startsAt: null, perUserLimit: 4 })).json()).toMatchObject({ total: 5, perUserLimit: 4, startsAt: null, endsAt: window.endsAt });
  });

  it('a patch of the line merges into it: a field it leaves out keeps its value, over HTTP as in the merge itself', async () => {
    const sku = uniqueName('line-patch-');
    await createSku(ctx, sku, { total: 5, ...settings, perUserLimit: null, line: { holdTtlSeconds: 300, lobbySeconds: 600 } });
    const patched = await patch(sku, { line: { holdTtlSeconds: 120 } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().line).toMatchObject({ holdTtlSeconds: 120, lobbySeconds: 600 });
    expect((await patch(sku, { line: { lobbySeconds: 30 } })).json().line).toMatchObject({ holdTtlSeconds: 120, lobbySeconds: 30 });
    // A PUT replaces the line: a field it leaves out returns to its default.
    const put = await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: adminHeaders, payload: { total: 5, ...window, line: { holdTtlSeconds: 60 } } });
    expect(put.json().line).toMatchObject({ holdTtlSeconds: 60, lobbySeconds: 0 });
  });

  it('an unknown SKU is 404 SKU_NOT_FOUND and is not created', async () => {
    const sku = uniqueName('nope-');
    expectErrorShape(await patch(sku, { total: 1 }), 404, 'SKU_NOT_FOUND');
    expectErrorShape(await ctx.app.inject({ method: 'GET', url: `/v1/skus/${sku}` }), 404, 'SKU_NOT_FOUND');
  });

  it('the checks of PUT: TOTAL_BELOW_COMMITTED, a window ending before it starts once merged, bad fields; nothing changes', async () => {
    const sku = uniqueName('checks-');
    await createSku(ctx, sku, { total: 5, ...settings });
    await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u-1', items: [{ sku, qty: 2 }] } });
    const before = await read(sku);
    expectErrorShape(await patch(sku, { total: 1 }), 409, 'TOTAL_BELOW_COMMITTED');
    expectErrorShape(await patch(sku, { endsAt: '2019-01-01T00:00:00Z' }), 400, 'VALIDATION_FAILED');
    for (const body of [{ total: -1 }, { color: 'red' }, { perUserLimit: 0 }, { total: 1, locations: [{ location: 'a', total: 1 }] }, { startsAt: 'tomorrow' }]) {
      expectErrorShape(await patch(sku, body), 400, 'VALIDATION_FAILED');
    }
    expect(await read(sku)).toEqual(before);
  });

  it('locations replaces the list when named; other patches keep the locations and their totals', async () => {
    const sku = uniqueName('wh-');
    await createSku(ctx, sku, { locations: [{ location: 'berlin', total: 6 }, { location: 'paris', total: 4 }], ...settings });
    await ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: 'u-2', items: [{ sku, qty: 1, location: 'berlin' }] } });
    const limited = (await patch(sku, { perUserLimit: 3 })).json();
    expect(limited).toMatchObject({ total: 10, reserved: 1, perUserLimit: 3, ...window });
    expect(limited.locations.map(({ location, active, total }: { location: string; active: boolean; total: number }) => ({ location, active, total }))).toEqual([
      { location: 'berlin', active: true, total: 6 },
      { location: 'paris', active: true, total: 4 },
    ]);
    // berlin keeps its held unit, retired; paris goes to 8.
    const replaced = (await patch(sku, { locations: [{ location: 'paris', total: 8 }] })).json();
    expect(replaced).toMatchObject({ total: 9, reserved: 1, perUserLimit: 3 });
    expect(replaced.locations.map(({ location, active }: { location: string; active: boolean }) => [location, active])).toEqual([
      ['paris', true],
      ['berlin', false],
    ]);
    expectErrorShape(await patch(sku, { total: 3 }), 400, 'VALIDATION_FAILED');
    await expectConservedEverywhere(ctx, sku);
  });

  it('a SKU Redis lost while Postgres knows it is restored, then patched', async () => {
    const sku = uniqueName('lost-');
    await createSku(ctx, sku, { total: 7, ...settings });
    await ctx.redis.del(ctx.keys.stock(sku));
    const patched = await patch(sku, { total: 9 });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ total: 9, available: 9, ...settings });
  });

  it('reserves running meanwhile keep their holds, and the counters stay conserved', async () => {
    const sku = uniqueName('busy-');
    await createSku(ctx, sku, { total: 100, ...settings, perUserLimit: null });
    const reserves = Array.from({ length: 40 }, (_, n) => ctx.app.inject({ method: 'POST', url: '/v1/reservations', payload: { userId: `u-${n}`, items: [{ sku, qty: 1 }] } }));
    const patches = Array.from({ length: 5 }, (_, n) => patch(sku, { perUserLimit: 10 + n }));
    const answers = await Promise.all([...reserves, ...patches]);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([...Array(5).fill(200), ...Array(40).fill(201)]);
    expect(await expectConservedEverywhere(ctx, sku)).toEqual({ total: 100, available: 60, reserved: 40, sold: 0 });
  });

  it('the media types: PUT does not take a merge patch; PATCH takes no text', async () => {
    const sku = uniqueName('media-');
    await createSku(ctx, sku, { total: 1 });
    const put = await ctx.app.inject({ method: 'PUT', url: `/v1/admin/skus/${sku}`, headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' }, payload: '{"total":2}' });
    expectErrorShape(put, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectErrorShape(await patch(sku, { total: 2 }, 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectErrorShape(await ctx.app.inject({ method: 'PATCH', url: `/v1/admin/skus/${sku}`, payload: { total: 2 } }), 401, 'UNAUTHORIZED');
    expect((await read(sku)).total).toBe(1);
  });

  it('the OpenAPI document lists PATCH with both media types, and says PUT replaces', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const { put, patch: patchEntry } = doc.paths['/v1/admin/skus/{sku}'];
    expect(put.description).toContain('replaces');
    expect(Object.keys(patchEntry.requestBody.content).sort()).toEqual(['application/json', 'application/merge-patch+json']);
    expect(Object.keys(patchEntry.responses)).toEqual(expect.arrayContaining(['200', '404', '409']));
  });
});

import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, screenshot } from '../support/browser';
import { ENGINE_ADMIN, type EngineProcess, removeEngineDirs, startEngine } from '../support/engineProcess';
import { call } from '../support/http';

// The operators' page in a real headless Chromium against a real engine process (embedded Redis
// and PGlite): what a person sees, read from the page, after changes made through the API.

const TOKEN = ENGINE_ADMIN.authorization.slice('Bearer '.length);
const BULK_SKUS = 1000;
const bulkName = (i: number) => `bulk-${String(i).padStart(4, '0')}`;

let engine: EngineProcess;
/** The tickets of dash-line: the first two admitted (each holds one of its two units), six waiting. */
let lineTickets: { id: string; status: string }[];
let browser: Browser;
let page: Page;
let pageErrors: string[];

const admin = (method: string, path: string, body?: unknown) => call(engine.base, method, path, body, ENGINE_ADMIN);
const reserve = (userId: string, sku: string, qty: number) => call(engine.base, 'POST', '/v1/reservations', { userId, items: [{ sku, qty }] });

async function openDashboard(viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const opened = await context.newPage();
  await opened.goto(`${engine.base}/dashboard`);
  return opened;
}

async function enterToken(target: Page, token: string): Promise<void> {
  await target.getByLabel('Token', { exact: true }).fill(token);
  await target.getByRole('button', { name: 'Use this token' }).click();
}

function skuRow(target: Page, sku: string): Locator {
  return target.locator('tr.sku', { has: target.locator('th span:first-child', { hasText: new RegExp(`^${sku}$`) }) });
}

/** The row's counters as the page shows them. */
async function shownCounters(row: Locator) {
  const [available, reserved, sold, total] = (await row.locator('td.num').allTextContents()).map((text) => Number(text.replace(/,/g, '')));
  return { available, reserved, sold, total };
}

async function search(target: Page, query: string): Promise<void> {
  await target.getByLabel('Find SKUs whose name contains').fill(query);
  await expect.poll(() => target.locator('tr.sku th span:first-child').first().textContent()).toContain(query);
}

/**
 * Milliseconds until the SKU's row shows `text` in `column` (0 available, 1 reserved, 2 sold,
 * 3 total, 'badge'), checked on every frame; the test fails after `timeoutMs`.
 */
async function msUntilShown(target: Page, sku: string, column: number | 'badge', text: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await target.waitForFunction(
    ({ sku, column, text }) => {
      const row = [...document.querySelectorAll('tr.sku')].find((tr) => tr.querySelector('th span')?.textContent === sku);
      const cell = column === 'badge' ? row?.querySelector('.badge') : row?.querySelectorAll('td.num')[column];
      return cell?.textContent === text;
    },
    { sku, column, text },
    { timeout: timeoutMs, polling: 'raf' },
  );
  return Date.now() - started;
}

beforeAll(async () => {
  engine = await startEngine({ WORKERS: '1' });
  browser = await launchBrowser();
  expect((await admin('PUT', '/v1/admin/skus/dash-tv', { total: 5 })).status).toBe(201);
  const spread = { locations: [{ location: 'berlin', total: 4 }, { location: 'paris', total: 3 }, { location: 'madrid', total: 2 }] };
  expect((await admin('PUT', '/v1/admin/skus/dash-spread', spread)).status).toBe(201);
  expect((await admin('PUT', '/v1/admin/skus/dash-line', { total: 2, line: { holdTtlSeconds: 600 } })).status).toBe(201);
  lineTickets = [];
  for (let n = 0; n < 8; n++) lineTickets.push((await call(engine.base, 'POST', '/v1/skus/dash-line/line', { userId: `queuer-${n}`, qty: 1 })).body);
  expect(lineTickets.map((ticket) => ticket.status)).toEqual(['ADMITTED', 'ADMITTED', 'WAITING', 'WAITING', 'WAITING', 'WAITING', 'WAITING', 'WAITING']);
  for (let start = 0; start < BULK_SKUS; start += 100) {
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => admin('PUT', `/v1/admin/skus/${bulkName(start + i)}`, { total: 1000 })));
    expect(answers.every((answer) => answer.status === 201)).toBe(true);
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  engine?.child.kill('SIGKILL');
  await engine?.exited;
  removeEngineDirs();
});

describe('ops dashboard in a real browser', () => {
  it('loads with no console error, asks for the token once and keeps it for the tab only', async () => {
    page = await openDashboard();
    pageErrors = collectPageErrors(page);
    const dialog = page.getByRole('dialog', { name: 'Admin token' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    // The keyboard lands in the token field, and every field has a label.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('token-input');
    expect(await page.evaluate(() => [...document.querySelectorAll('input')].every((input) => (input.labels?.length ?? 0) > 0))).toBe(true);
    await enterToken(page, TOKEN);
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => page.locator('tr.sku').count()).toBe(25);

    await search(page, 'dash-');
    expect(await shownCounters(skuRow(page, 'dash-tv'))).toEqual({ available: 5, reserved: 0, sold: 0, total: 5 });
    // A SKU held in several places shows each place under it.
    const places = await page.locator('tr.location th').allTextContents();
    expect(places).toEqual(['berlin', 'paris', 'madrid']);
    await expect.poll(() => page.locator('#engine-state').textContent()).toBe('Ready');

    const stored = await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length, cookie: document.cookie }));
    expect(stored).toEqual({ session: 1, local: 0, cookie: '' });
    expect(pageErrors).toEqual([]);
    await screenshot(page, '01-overview');
  });

  it('moves a counter within a second of a reserve made through the API', async () => {
    const row = skuRow(page, 'dash-tv');
    const answer = await reserve('shopper-1', 'dash-tv', 2);
    expect(answer.status).toBe(201);
    const ms = await msUntilShown(page, 'dash-tv', 1, '2', 1_000);
    expect(ms).toBeLessThan(1_000);
    expect(await shownCounters(row)).toEqual({ available: 3, reserved: 2, sold: 0, total: 5 });
  });

  it('shows a sale selling out, and the refusals in the reserve charts', async () => {
    expect((await reserve('shopper-2', 'dash-tv', 3)).status).toBe(201);
    const row = skuRow(page, 'dash-tv');
    await msUntilShown(page, 'dash-tv', 'badge', 'Sold out', 1_000);
    expect(await shownCounters(row)).toEqual({ available: 0, reserved: 5, sold: 0, total: 5 });
    const refused = await Promise.all(Array.from({ length: 20 }, (_, i) => reserve(`late-${i}`, 'dash-tv', 1)));
    expect(refused.every((answer) => answer.status === 409)).toBe(true);

    // The charts read /metrics every 2 s: the held and sold-out peaks show what just happened.
    const peakOf = (title: string) => page.locator('.chart', { has: page.getByRole('heading', { name: title, exact: true }) }).locator('.hint').textContent();
    await expect.poll(() => peakOf('Held'), { timeout: 6_000 }).toMatch(/^peak [0-9.]*[1-9]/);
    await expect.poll(() => peakOf('Sold out'), { timeout: 6_000 }).toMatch(/^peak [0-9.]*[1-9]/);
    await expect.poll(() => page.locator('.chart', { has: page.getByRole('heading', { name: 'Reserve latency p99' }) }).locator('.figure').textContent()).toMatch(/ms$/);
    expect(pageErrors).toEqual([]);
    await screenshot(page, '02-sold-out');
  });

  it('shows a line: its length, the tickets admitted per second and the wait a new joiner faces', async () => {
    const lineCells = async () => {
      const [waiting, pace, wait] = await skuRow(page, 'dash-line').locator('td.line').allTextContents();
      return { waiting, pace, wait };
    };
    // Nothing admitted since the page opened: the line stands still.
    await expect.poll(lineCells).toEqual({ waiting: '6', pace: '0.0', wait: 'stalled' });
    // A SKU without a line leaves the cells blank.
    expect(await skuRow(page, 'dash-tv').locator('td.line').allTextContents()).toEqual(['', '', '']);
    // Both holds go back: the next two tickets are admitted in the same steps.
    for (const ticket of lineTickets.slice(0, 2)) expect((await call(engine.base, 'POST', `/v1/reservations/${ticket.id}/release`)).status).toBe(200);
    await expect.poll(async () => (await lineCells()).waiting, { timeout: 1_000 }).toBe('4');
    const { pace, wait } = await lineCells();
    expect(Number(pace)).toBeGreaterThan(0);
    // The wait is the four tickets waiting at that pace, give or take the second between redraws.
    const seconds = Number(/^~(\d+) s$/.exec(wait)?.[1]);
    expect(seconds).toBeGreaterThanOrEqual(Math.floor(4 / (Number(pace) + 0.05)));
    expect(seconds).toBeLessThanOrEqual(Math.ceil(4 / Math.max(0.05, Number(pace) - 0.05)));
    expect(pageErrors).toEqual([]);
    await screenshot(page, '02b-line');

    // The figures themselves, from the page's own module with a clock of the test's.
    const figures: any = await page.evaluate(`(async () => {
      const { LineRate, formatRate, formatWait } = await import('/dashboard/lineRate.js');
      const rate = new LineRate(30000);
      rate.add(0, 10);
      rate.add(5000, 20);
      rate.add(10000, 40);
      const paces = [rate.perSecond(10000), rate.perSecond(35000), rate.perSecond(40000)];
      // A line set again counts from 0: its pace starts afresh.
      rate.add(41000, 1);
      paces.push(rate.perSecond(41500), rate.perSecond(43000));
      const waits = [formatWait(0, null), formatWait(5, null), formatWait(5, 0), formatWait(6, 3), formatWait(600, 3), formatWait(36000, 2)];
      return { paces, waits, rates: [formatRate(null), formatRate(0.25), formatRate(1234.5)] };
    })()`);
    expect(figures.paces[0]).toBe(3);
    expect(figures.paces[1]).toBeCloseTo(20 / 30, 9);
    expect(figures.paces.slice(2)).toEqual([0, null, 0]);
    expect(figures.waits).toEqual(['none', '–', 'stalled', '~2 s', '~3 min', '~5 h 0 min']);
    expect(figures.rates).toEqual(['–', '0.3', '1,235']);
  });

  it('reads rates and the p99 from two scrapes the way Prometheus would, across a restart too', async () => {
    // The page's own module, run in the browser (as text: the test runner rewrites import() in functions).
    const figures: any = await page.evaluate(`(async () => {
      const { compare, readScrape } = await import('/dashboard/reserveMetrics.js');
      const scrape = (at, created, soldOut, buckets) => readScrape([
        '# TYPE flashsale_reservations_total counter',
        'flashsale_reservations_total{outcome="created"} ' + created,
        'flashsale_reservations_total{outcome="insufficient_stock"} ' + soldOut,
        ...buckets.map(([le, count]) => 'flashsale_reserve_duration_seconds_bucket{le="' + le + '"} ' + count),
      ].join('\\n'), at);
      const before = scrape(0, 100, 10, [['0.001', 50], ['0.01', 100], ['+Inf', 100]]);
      // 2 s later: 200 more held, 100 of them under 1 ms and 100 between 1 and 10 ms.
      const later = scrape(2000, 300, 10, [['0.001', 150], ['0.01', 300], ['+Inf', 300]]);
      // An engine restarted: its counters start again from 0.
      const restarted = scrape(4000, 20, 4, [['0.001', 20], ['0.01', 20], ['+Inf', 20]]);
      return { window: compare(before, later), afterRestart: compare(later, restarted) };
    })()`);
    expect(figures.window.rates).toEqual({ created: 100, soldOut: 0, limit: 0, unavailable: 0 });
    // Rank 198 of 200: 98 into the 100 of the (1 ms, 10 ms] bucket.
    expect(figures.window.p99Ms).toBeCloseTo(1 + 9 * (98 / 100), 6);
    expect(figures.afterRestart.rates).toEqual({ created: 10, soldOut: 2, limit: 0, unavailable: 0 });
    expect(figures.afterRestart.p99Ms).toBeCloseTo(0.99, 6);
  });

  it('runs a reconciler pass and a repair from the buttons and shows the new runs', async () => {
    // Cron passes run every 5 s beside these: the API ones are counted by their trigger.
    const apiRows = () => page.locator('#runs-table tbody tr').filter({ has: page.locator('td:nth-child(2)', { hasText: /^api$/ }) });
    expect(await apiRows().count()).toBe(0);
    await page.getByRole('button', { name: 'Run a pass', exact: true }).click();
    await expect.poll(() => page.locator('#reconcile-message').textContent(), { timeout: 20_000 }).toMatch(/^Pass finished/);
    await expect.poll(() => apiRows().count()).toBe(1);
    expect(await apiRows().first().locator('td').last().textContent()).toBe('ok');

    await page.getByRole('button', { name: 'Run a pass and repair drift' }).click();
    await expect.poll(() => page.locator('#reconcile-message').textContent(), { timeout: 20_000 }).toMatch(/^Pass with repair finished/);
    await expect.poll(() => apiRows().count()).toBe(2);
    const runs = await admin('GET', '/v1/admin/reconcile/runs?limit=500');
    expect(runs.body.items.filter((run: { trigger: string }) => run.trigger === 'api')).toHaveLength(2);
    expect(await page.locator('#dead-message').textContent()).toMatch(/^None/);
    expect(pageErrors).toEqual([]);
    await screenshot(page, '03-reconciled');
  });

  it('says clearly when the token is wrong, on opening and on the reconcile button', async () => {
    const other = await openDashboard();
    await enterToken(other, 'not-the-token');
    const problem = other.locator('#token-error');
    await expect.poll(() => problem.textContent()).toMatch(/refused this admin token/);
    await screenshot(other, '04-wrong-token');
    await other.getByRole('button', { name: 'Not now' }).click();
    const runsBefore = (await admin('GET', '/v1/admin/reconcile/runs?limit=500')).body.items.length;
    await other.getByRole('button', { name: 'Run a pass', exact: true }).click();
    await expect.poll(() => other.locator('#reconcile-message').textContent()).toMatch(/refused this admin token \(UNAUTHORIZED/);
    expect(await other.getByRole('dialog', { name: 'Admin token' }).isVisible()).toBe(true);
    // The refused click ran nothing (a cron pass may have run meanwhile, but no API pass).
    const runsAfter = (await admin('GET', '/v1/admin/reconcile/runs?limit=500')).body.items;
    expect(runsAfter.filter((run: { trigger: string }) => run.trigger === 'api').length).toBe(2);
    expect(runsAfter.length).toBeGreaterThanOrEqual(runsBefore);
    await other.context().close();
  });

  it('pages and searches 1,000 SKUs, and keeps up with a flash sale on the page shown', async () => {
    await search(page, 'bulk-');
    await expect.poll(() => page.locator('#sku-page').textContent()).toBe('SKUs 1–25');
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => page.locator('#sku-page').textContent()).toBe('SKUs 26–50');
    expect(await page.locator('tr.sku th span:first-child').first().textContent()).toBe(bulkName(25));
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => page.locator('tr.sku th span:first-child').first().textContent()).toBe(bulkName(0));
    await search(page, 'bulk-09');
    expect(await page.locator('tr.sku').count()).toBe(25);
    expect(await page.getByRole('button', { name: 'Next page' }).isEnabled()).toBe(true);

    // A burst of reserves on every SKU shown: the page takes each SKU's events (up to 10 per second
    // per SKU) without a long task blocking it, and ends on the counters Redis has.
    await page.evaluate(() => {
      (window as unknown as { longTasks: number[] }).longTasks = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) (window as unknown as { longTasks: number[] }).longTasks.push(entry.duration);
      }).observe({ type: 'longtask' });
    });
    const shown = await page.locator('tr.sku th span:first-child').allTextContents();
    const deadline = Date.now() + 3_000;
    let sent = 0;
    while (Date.now() < deadline) {
      await Promise.all(shown.map((sku, i) => reserve(`buyer-${sent}-${i}`, sku, 1)));
      sent += 1;
    }
    const last = shown.at(-1)!;
    const expected = await call(engine.base, 'GET', `/v1/skus/${last}`);
    await expect.poll(async () => shownCounters(skuRow(page, last)), { timeout: 1_000 }).toEqual({ available: expected.body.available, reserved: expected.body.reserved, sold: 0, total: 1000 });
    const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
    expect(Math.max(0, ...longTasks)).toBeLessThan(200);
    expect(pageErrors).toEqual([]);
    await screenshot(page, '05-search-and-load');
  });

  it('shows a SKU created after the search was typed, without a reload, and follows it live', async () => {
    await page.getByLabel('Find SKUs whose name contains').fill('fresh-');
    await expect.poll(() => page.locator('#sku-message').textContent()).toBe('No SKU name contains “fresh-”.');
    expect(await page.locator('tr.sku').count()).toBe(0);

    expect((await admin('PUT', '/v1/admin/skus/stale-lamp', { total: 7 })).status).toBe(201);
    expect((await admin('PUT', '/v1/admin/skus/fresh-lamp', { total: 7 })).status).toBe(201);
    // The page is read again every 5 s: the new SKU shows within one read, the one not matching never.
    await expect.poll(() => page.locator('tr.sku th span:first-child').allTextContents(), { timeout: 8_000 }).toEqual(['fresh-lamp']);
    expect(await page.locator('#sku-message').textContent()).toBe('');
    expect(await shownCounters(skuRow(page, 'fresh-lamp'))).toEqual({ available: 7, reserved: 0, sold: 0, total: 7 });

    // The stream now follows the new row, and the reads that find the same page keep it open.
    const streamsOpened: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/v1/events')) streamsOpened.push(request.url());
    });
    expect((await reserve('lamp-buyer', 'fresh-lamp', 2)).status).toBe(201);
    expect(await msUntilShown(page, 'fresh-lamp', 1, '2', 2_000)).toBeLessThan(2_000);
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    expect(streamsOpened).toEqual([]);
    expect(await shownCounters(skuRow(page, 'fresh-lamp'))).toEqual({ available: 5, reserved: 2, sold: 0, total: 7 });
    expect(pageErrors).toEqual([]);
    await screenshot(page, '05b-new-sku-in-search');
  });

  it('fits a phone screen: nothing wider than the screen but the tables, which scroll', async () => {
    const phone = await openDashboard({ width: 390, height: 844 });
    await enterToken(phone, TOKEN);
    await expect.poll(() => phone.locator('tr.sku').count()).toBe(25);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(phone, '06-phone');
    await phone.context().close();
  });

  it('shows a banner while the engine is down and recovers by itself when it is back', async () => {
    const banner = page.getByRole('alert').filter({ hasText: 'does not answer' });
    engine.child.kill('SIGKILL');
    await engine.exited;
    await expect.poll(() => banner.isVisible(), { timeout: 6_000 }).toBe(true);
    expect(await page.locator('#engine-state').textContent()).toBe('Unreachable');
    await screenshot(page, '07-engine-down');

    engine = await startEngine({ WORKERS: '1', PORT: String(engine.port) }, engine.dataDir);
    await expect.poll(() => banner.isVisible(), { timeout: 10_000 }).toBe(false);
    await expect.poll(() => page.locator('#engine-state').textContent(), { timeout: 10_000 }).toBe('Ready');
    // Live again: a reserve after the restart reaches the page.
    const sku = (await page.locator('tr.sku th span:first-child').first().textContent())!;
    const before = await shownCounters(skuRow(page, sku));
    expect((await reserve('after-restart', sku, 1)).status).toBe(201);
    await expect.poll(async () => (await shownCounters(skuRow(page, sku))).reserved, { timeout: 3_000 }).toBe(before.reserved + 1);
    await screenshot(page, '08-recovered');
  });
});

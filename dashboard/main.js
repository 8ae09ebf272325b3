// Wires the page together: the connection banner, the token dialog, the reserve charts, the SKU
// table and the reconciler panel.
import { ApiError, EngineUnreachable, adminToken, callText } from './engineApi.js';
import { Connection } from './connection.js';
import { ReconcilePanel } from './reconcilePanel.js';
import { OUTCOME_SERIES, compare, readScrape } from './reserveMetrics.js';
import { SkuTable } from './skuTable.js';
import { Sparkline } from './sparkline.js';
import { TokenDialog } from './tokenDialog.js';

const METRICS_EVERY_MS = 2_000;
const LISTS_EVERY_MS = 5_000;
const $ = (id) => document.getElementById(id);

const connection = new Connection({ banner: $('unreachable'), pill: $('engine-state'), onRecovered: () => reloadAll() });

const tokenDialog = new TokenDialog({
  dialog: $('token-dialog'),
  form: $('token-form'),
  input: $('token-input'),
  error: $('token-error'),
  cancel: $('token-cancel'),
  forget: $('token-forget'),
  button: $('token-button'),
  onToken: () => reloadAll(),
});

// The token the engine last refused: the lists are not read again with it every few seconds.
let refusedToken = null;

/** How every panel shows a failed call: a refused token asks for another, no answer raises the banner. */
function showError(error, target) {
  delete target.dataset.result;
  if (error instanceof ApiError && error.status === 401) {
    refusedToken = adminToken.get();
    const text = adminToken.get() ? `The engine refused this admin token (${error.code}: ${error.message})` : 'Enter the admin token to see this.';
    target.textContent = text;
    tokenDialog.ask(adminToken.get() ? `${text}. Check ADMIN_TOKEN on the engine and enter it again.` : '');
    return;
  }
  if (error instanceof EngineUnreachable) {
    target.textContent = 'The engine did not answer; this part updates once it does.';
    connection.unreachable();
    return;
  }
  target.textContent = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
}

const skus = new SkuTable({
  body: $('sku-table').tBodies[0],
  message: $('sku-message'),
  search: $('sku-search'),
  query: $('sku-query'),
  previous: $('sku-previous'),
  next: $('sku-next'),
  pageLabel: $('sku-page'),
  onError: showError,
});

const reconcile = new ReconcilePanel({
  runsBody: $('runs-table').tBodies[0],
  runsMessage: $('reconcile-message'),
  deadBody: $('dead-table').tBodies[0],
  deadMessage: $('dead-message'),
  passButton: $('run-pass'),
  repairButton: $('run-repair'),
  onError: showError,
  whenAuthorised: (action) => tokenDialog.whenAuthorised(action),
});

function reloadAll() {
  if (!adminToken.get()) {
    skus.stop();
    for (const id of ['sku-message', 'reconcile-message', 'dead-message']) $(id).textContent = 'Enter the admin token to see this.';
    return;
  }
  skus.load();
  reconcile.refresh();
}

function startCharts() {
  const list = $('charts');
  const charts = OUTCOME_SERIES.map((series) => ({ key: series.key, chart: new Sparkline(list, { title: series.title, unit: '/s' }) }));
  const latency = new Sparkline(list, { title: 'Reserve latency p99', unit: 'ms' });
  let previous = null;
  const scrape = async () => {
    try {
      const now = readScrape(await callText('/metrics'), Date.now());
      if (previous) {
        const { rates, p99Ms } = compare(previous, now);
        for (const { key, chart } of charts) chart.push(rates[key]);
        latency.push(p99Ms);
      }
      previous = now;
    } catch (error) {
      // No figure rather than a stale one; the next answer starts a new window.
      for (const { chart } of charts) chart.push(null);
      latency.push(null);
      previous = null;
      if (error instanceof EngineUnreachable) connection.unreachable();
    }
  };
  scrape();
  setInterval(scrape, METRICS_EVERY_MS);
}

connection.start();
startCharts();
reloadAll();
// The runs and dead letters have no stream, and the SKU stream follows only the SKUs shown: they
// are read again every few seconds, so a new run, or a new SKU matching the search, shows up.
setInterval(() => {
  if (!adminToken.get() || adminToken.get() === refusedToken || connection.downSince) return;
  reconcile.refresh();
  skus.refresh();
}, LISTS_EVERY_MS);
if (!adminToken.get()) tokenDialog.ask();

// The SKU table: one page of /v1/admin/skus at a time (search and paging keep a large catalogue
// light), its counters kept live from /v1/events. The page is read again every few seconds
// (refresh), so SKUs created since show up; the stream follows whichever SKUs are shown. Views
// arriving in a burst are drawn once per animation frame, so a flash sale's event rate never
// queues up work in the page. A SKU with a waiting line shows its length, its pace and the wait a
// new joiner faces (lineRate.js), redrawn every second since a pace changes with time alone.
import { callJson } from './engineApi.js';
import { followSkus } from './eventStream.js';
import { LineRate, formatRate, formatWait } from './lineRate.js';

const PAGE_SIZE = 25;
const COUNTERS = ['available', 'reserved', 'sold', 'total'];
const LINE_CELLS = ['waiting', 'pace', 'wait'];
const LINE_REDRAW_MS = 1_000;

export class SkuTable {
  constructor({ body, message, search, query, previous, next, pageLabel, onError }) {
    Object.assign(this, { body, message, previous, next, pageLabel, onError });
    this.cursors = [null]; // the `after` of each page seen, to go back
    this.rows = new Map(); // sku -> { row, cells, locations: Map(location -> cells), view }
    this.rates = new Map(); // sku -> LineRate, kept across reloads of the page of SKUs
    this.pending = new Map();
    this.stream = null;
    this.followed = null; // the SKUs the stream follows, joined
    this.layout = null; // the SKUs and locations the rows show, as text
    this.reads = 0;
    let debounce;
    search.addEventListener('submit', (event) => event.preventDefault());
    query.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => this.search(query.value.trim()), 250);
    });
    previous.addEventListener('click', () => this.turn(-1));
    next.addEventListener('click', () => this.turn(+1));
    this.query = '';
    setInterval(() => {
      const now = Date.now();
      for (const entry of this.rows.values()) if (entry.view?.line) drawLine(entry, this.rates.get(entry.view.sku), now);
    }, LINE_REDRAW_MS);
  }

  search(query) {
    this.query = query;
    this.cursors = [null];
    return this.load();
  }

  turn(direction) {
    if (direction > 0 && this.nextCursor) this.cursors.push(this.nextCursor);
    if (direction < 0 && this.cursors.length > 1) this.cursors.pop();
    return this.load();
  }

  /** Reads the shown page again: SKUs created or deleted since it was read come and go. */
  refresh() {
    return this.load();
  }

  /** (Re)loads the current page and follows its SKUs. */
  async load() {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (this.query) params.set('q', this.query);
    const after = this.cursors.at(-1);
    if (after) params.set('after', after);
    // Only the latest read is shown: a refresh answered after a newer search must not undo it.
    const read = ++this.reads;
    let page;
    try {
      page = await callJson(`/v1/admin/skus?${params}`);
    } catch (error) {
      if (read === this.reads) this.onError(error, this.message);
      return;
    }
    if (read !== this.reads) return;
    this.nextCursor = page.next;
    // Rows are rebuilt only when what they show changed: the stream keeps their counters newer
    // than any page read.
    const layout = JSON.stringify(page.items.map((view) => [view.sku, view.locations.map((level) => [level.location, level.active])]));
    if (layout !== this.layout) this.render(page.items);
    this.layout = layout;
    const first = (this.cursors.length - 1) * PAGE_SIZE;
    this.pageLabel.textContent = page.items.length ? `SKUs ${first + 1}–${first + page.items.length}` : '';
    this.previous.disabled = this.cursors.length === 1;
    this.next.disabled = !page.next;
    this.message.textContent = page.items.length ? '' : this.query ? `No SKU name contains “${this.query}”.` : 'No SKUs yet: create one with PUT /v1/admin/skus/:sku.';
    this.follow(page.items.map((view) => view.sku));
  }

  follow(skus) {
    // A refresh that finds the same SKUs keeps the stream: reconnecting would only resend views.
    const followed = skus.join(',');
    if (followed === this.followed) return;
    this.stop();
    this.followed = followed;
    this.stream = skus.length ? followSkus(skus, { onView: (view) => this.update(view), onTrouble: () => {} }) : null;
  }

  stop() {
    this.stream?.stop();
    this.stream = null;
    this.followed = null;
  }

  update(view) {
    this.pending.set(view.sku, view);
    if (this.pending.size === 1) requestAnimationFrame(() => this.flush());
  }

  flush() {
    for (const view of this.pending.values()) this.draw(view);
    this.pending.clear();
  }

  render(views) {
    this.rows.clear();
    this.pending.clear();
    const shown = new Set(views.map((view) => view.sku));
    for (const sku of this.rates.keys()) if (!shown.has(sku)) this.rates.delete(sku);
    const rows = [];
    for (const view of views) {
      const entry = { row: tableRow('sku'), cells: null, locations: new Map() };
      const name = document.createElement('th');
      name.scope = 'row';
      const label = document.createElement('span');
      label.textContent = view.sku;
      entry.badge = document.createElement('span');
      entry.badge.className = 'badge';
      name.append(label, ' ', entry.badge);
      entry.cells = counterCells(entry.row, name);
      rows.push(entry.row);
      if (view.locations.length > 1) {
        for (const location of view.locations) {
          const row = tableRow('location');
          const place = document.createElement('th');
          place.scope = 'row';
          place.textContent = `${location.location}${location.active ? '' : ' (retired)'}`;
          entry.locations.set(location.location, counterCells(row, place));
          rows.push(row);
        }
      }
      this.rows.set(view.sku, entry);
      this.draw(view);
    }
    this.body.replaceChildren(...rows);
  }

  draw(view) {
    const entry = this.rows.get(view.sku);
    if (!entry) return;
    entry.view = view;
    fill(entry.cells, view);
    const now = Date.now();
    if (view.line) {
      if (!this.rates.has(view.sku)) this.rates.set(view.sku, new LineRate());
      this.rates.get(view.sku).add(now, view.line.admitted);
    } else this.rates.delete(view.sku);
    drawLine(entry, this.rates.get(view.sku), now);
    const soldOut = view.total > 0 && view.available === 0;
    entry.badge.textContent = soldOut ? 'Sold out' : '';
    entry.row.classList.toggle('sold-out', soldOut);
    for (const location of view.locations) {
      const cells = entry.locations.get(location.location);
      if (cells) fill(cells, location);
    }
  }
}

function tableRow(className) {
  const row = document.createElement('tr');
  row.className = className;
  return row;
}

/** Appends the name cell, one cell per counter and the share bar; returns what draw() updates. */
function counterCells(row, nameCell) {
  const cells = {};
  row.append(nameCell);
  for (const counter of COUNTERS) {
    const cell = document.createElement('td');
    cell.className = 'num';
    row.append(cell);
    cells[counter] = cell;
  }
  for (const name of LINE_CELLS) {
    const cell = document.createElement('td');
    cell.className = `num line ${name}`;
    row.append(cell);
    cells[name] = cell;
  }
  const share = document.createElement('td');
  share.className = 'share';
  const bar = document.createElement('div');
  bar.className = 'bar';
  bar.setAttribute('aria-hidden', 'true');
  cells.segments = ['available', 'reserved', 'sold'].map((counter) => {
    const segment = document.createElement('span');
    segment.className = counter;
    bar.append(segment);
    return segment;
  });
  share.append(bar);
  row.append(share);
  return cells;
}

/** The line's cells: its length, admissions per second and the wait a new joiner faces; blank without a line. */
function drawLine(entry, rate, now) {
  const { line } = entry.view;
  const { cells } = entry;
  if (!line) {
    for (const name of LINE_CELLS) cells[name].textContent = '';
    return;
  }
  const perSecond = rate.perSecond(now);
  cells.waiting.textContent = line.waiting.toLocaleString('en');
  cells.pace.textContent = formatRate(perSecond);
  cells.wait.textContent = formatWait(line.waiting, perSecond);
}

function fill(cells, counters) {
  for (const counter of COUNTERS) cells[counter].textContent = counters[counter].toLocaleString('en');
  const total = counters.total || 1;
  ['available', 'reserved', 'sold'].forEach((counter, i) => {
    cells.segments[i].style.width = `${(counters[counter] / total) * 100}%`;
  });
}

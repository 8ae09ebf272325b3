import type { Ticket } from '../domain/line';
import type { SkuView } from '../domain/sku';
import type { StockEvents } from './stockEvents';

export type TicketListener = (ticket: Ticket) => void;

/** How ticket events read a ticket: as GET /v1/line-tickets/:id answers it (null: unknown). */
export type TicketReader = (id: string) => Promise<Ticket | null>;

/** What a waiting ticket's event tells: where it stands. A change of it is sent (unitsLeft alone is not). */
const standingOf = (ticket: Ticket) => `${ticket.position}|${ticket.unitsAhead}|${ticket.lobby}`;

/** Timers run at most this far ahead (Node's limit is 2^31 - 1 ms); one that fires early only looks again. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A sale-window instant is looked at this long after it passed on this clock: Redis's clock decides it. */
const CLOCK_SLACK_MS = 100;

/** A waiting ticket one stream watches. */
interface Watched {
  sku: string;
  /** The ticket as last read, when, and the line's admissions count as the stream knew it then. */
  ticket: Ticket;
  readAt: number;
  admittedAtRead: number;
  /** Its SKU changed since the last read. */
  dirty: boolean;
  reading: boolean;
  /** A read held back until the minimum interval has passed. */
  readTimer?: NodeJS.Timeout;
  /** Where it stood in the last event sent, and when; a newer standing held back until the interval has passed. */
  sent: string;
  sentAt: number;
  sendTimer?: NodeJS.Timeout;
}

const admittedOf = (view: SkuView | undefined) => view?.line?.admitted ?? 0;

/**
 * The tickets of one stream: each is read again when its SKU changes (the stock events say when),
 * at most once per interval unless its turn may have come (the line admitted as many tickets as
 * stood ahead of it), its SKU sold out, its line closed or a sale-window instant passed: then at
 * once. So a ticket costs a read per second at most while its line moves, and nothing while it
 * stands still. A changed standing is sent at most once per interval, the latest winning; an
 * admission or an end is sent at once, and the ticket is watched no more.
 */
class TicketWatch {
  private readonly waiting = new Map<string, Watched>();
  private readonly views = new Map<string, SkuView>();
  /** Per SKU: a timer for its next sale-window instant (the lobby's shuffle, the end of the sale). */
  private readonly clocks = new Map<string, NodeJS.Timeout>();
  private stopSkus = () => {};
  private stopped = false;

  constructor(
    private readonly read: TicketReader,
    private readonly listener: TicketListener,
    private readonly intervalMs: number,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Starts watching the waiting `tickets`, whose SKUs are watched (their current `views`) until `stopSkus`. */
  start(tickets: Ticket[], views: SkuView[], stopSkus: () => void): void {
    this.stopSkus = stopSkus;
    const now = Date.now();
    for (const view of views) this.views.set(view.sku, view);
    for (const ticket of tickets) {
      const admittedAtRead = admittedOf(this.views.get(ticket.sku));
      this.waiting.set(ticket.id, { sku: ticket.sku, ticket, readAt: now, admittedAtRead, dirty: false, reading: false, sent: standingOf(ticket), sentAt: now });
    }
    // A change between the first reads and the start of the SKUs' watch would go unseen: each ticket is looked at once more.
    for (const view of views) this.skuChanged(view);
  }

  skuChanged(view: SkuView): void {
    if (this.stopped) return;
    this.views.set(view.sku, view);
    this.armClock(view);
    for (const watched of this.waiting.values()) {
      if (watched.sku !== view.sku) continue;
      watched.dirty = true;
      this.schedule(watched);
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const watched of this.waiting.values()) this.clear(watched);
    this.waiting.clear();
    for (const clock of this.clocks.values()) clearTimeout(clock);
    this.clocks.clear();
    this.stopSkus();
  }

  private schedule(watched: Watched): void {
    if (this.stopped || watched.reading || !watched.dirty || this.waiting.get(watched.ticket.id) !== watched) return;
    const wait = this.urgent(watched) ? 0 : watched.readAt + this.intervalMs - Date.now();
    if (wait > 0) {
      watched.readTimer ??= setTimeout(() => {
        watched.readTimer = undefined;
        this.schedule(watched);
      }, wait);
      return;
    }
    clearTimeout(watched.readTimer);
    watched.readTimer = undefined;
    void this.readNow(watched);
  }

  /** Whether the SKU's view says the ticket may be admitted or ended now: then it is read at once. */
  private urgent({ sku, ticket, admittedAtRead }: Watched): boolean {
    const view = this.views.get(sku);
    if (!view) return false;
    const now = Date.now();
    const passed = (time: string | null) => time !== null && Date.parse(time) <= now;
    if (!view.line || passed(view.endsAt) || view.total - view.sold < ticket.qty) return true;
    if (ticket.position !== null && view.line.admitted - admittedAtRead >= ticket.position) return true;
    return ticket.lobby && passed(view.startsAt);
  }

  private async readNow(watched: Watched): Promise<void> {
    watched.dirty = false;
    watched.reading = true;
    watched.readAt = Date.now();
    const admitted = admittedOf(this.views.get(watched.sku));
    let ticket: Ticket | null = null;
    try {
      ticket = await this.read(watched.ticket.id);
    } catch {
      // Redis unreachable: read again after the interval.
      watched.dirty = true;
    }
    watched.reading = false;
    if (this.stopped) return;
    if (ticket) {
      watched.admittedAtRead = admitted;
      this.answered(watched, ticket);
    }
    this.schedule(watched);
  }

  private answered(watched: Watched, ticket: Ticket): void {
    watched.ticket = ticket;
    if (ticket.status !== 'WAITING') {
      // Admitted or ended: told at once, and watched no more.
      this.clear(watched);
      this.waiting.delete(ticket.id);
      this.listener(ticket);
      if (!this.waiting.size) this.stop();
      return;
    }
    if (standingOf(ticket) === watched.sent) {
      clearTimeout(watched.sendTimer);
      watched.sendTimer = undefined;
      return;
    }
    const wait = watched.sentAt + this.intervalMs - Date.now();
    if (wait <= 0) this.send(watched);
    else watched.sendTimer ??= setTimeout(() => this.send(watched), wait);
  }

  private send(watched: Watched): void {
    watched.sendTimer = undefined;
    if (this.stopped) return;
    watched.sent = standingOf(watched.ticket);
    watched.sentAt = Date.now();
    this.listener(watched.ticket);
  }

  private clear(watched: Watched): void {
    clearTimeout(watched.readTimer);
    clearTimeout(watched.sendTimer);
    watched.readTimer = watched.sendTimer = undefined;
  }

  /** Looks at the SKU's tickets again once its next sale-window instant has passed: nothing else would tell. */
  private armClock(view: SkuView): void {
    clearTimeout(this.clocks.get(view.sku));
    this.clocks.delete(view.sku);
    const now = Date.now();
    const next = [view.startsAt, view.endsAt].map((time) => (time === null ? NaN : Date.parse(time))).filter((time) => time > now);
    if (!next.length) return;
    const wait = Math.min(Math.min(...next) - now + CLOCK_SLACK_MS, MAX_TIMER_MS);
    this.clocks.set(
      view.sku,
      setTimeout(() => this.skuChanged(this.views.get(view.sku) ?? view), wait),
    );
  }
}

/**
 * Live ticket events for the streams that watch tickets (GET /v1/events?tickets=): a ticket as
 * GET /v1/line-tickets/:id answers it, when where it stands changes (at most once per
 * `minIntervalMs`, a second by default), and when it is admitted or ends; then it is watched no
 * more. Changes of a ticket's SKU are learnt from the stock events, so a stream of tickets costs
 * the polling of their SKUs (shared with every other stream of this process) and the reads of
 * tickets whose line moved.
 */
export class TicketEvents {
  private readonly watches = new Set<TicketWatch>();
  /** Set by close(): a watch whose first read ends after it registers nothing. */
  private closed = false;

  constructor(
    private readonly stock: Pick<StockEvents, 'watch'>,
    private readonly read: TicketReader,
    private readonly options: { minIntervalMs?: number } = {},
  ) {}

  /**
   * Watches tickets `ids`: answers them as they stand now (all known: unknown ones answer
   * `missing`, and nothing is watched), then calls `listener` with each later event; `stop` ends
   * the watch. Answers `abandoned`, watching nothing, when `signal` was aborted (the client left)
   * or close() was called while the tickets were read.
   */
  async watch(
    ids: readonly string[],
    listener: TicketListener,
    signal?: AbortSignal,
  ): Promise<{ tickets: Ticket[]; stop: () => void } | { missing: string[] } | { abandoned: true }> {
    const abandoned = () => signal?.aborted || this.closed;
    if (abandoned()) return { abandoned: true };
    const read = await Promise.all(ids.map((id) => this.read(id)));
    if (abandoned()) return { abandoned: true };
    const missing = ids.filter((_, n) => !read[n]);
    if (missing.length) return { missing };
    const tickets = read as Ticket[];
    const watch = new TicketWatch(this.read, listener, this.options.minIntervalMs ?? 1000);
    const waiting = tickets.filter((ticket) => ticket.status === 'WAITING');
    if (waiting.length) {
      const skus = [...new Set(waiting.map((ticket) => ticket.sku))];
      const stock = await this.stock.watch(skus, (event) => watch.skuChanged(event.view), signal);
      if ('abandoned' in stock) return stock;
      // A ticket's SKU is gone only when Redis lost its data: such a ticket cannot be answered either.
      if ('missing' in stock) return { missing: waiting.filter((ticket) => stock.missing.includes(ticket.sku)).map((ticket) => ticket.id) };
      if (abandoned()) {
        stock.stop();
        return { abandoned: true };
      }
      watch.start(waiting, stock.views, stock.stop);
      this.watches.add(watch);
    }
    return {
      tickets,
      stop: () => {
        watch.stop();
        this.watches.delete(watch);
      },
    };
  }

  /** The waiting tickets watched: each is read again when its SKU changes, at most once a second. */
  get watchedTickets(): number {
    let count = 0;
    for (const watch of this.watches) count += watch.size;
    return count;
  }

  /** Ends every watch (shutdown). */
  close(): void {
    this.closed = true;
    for (const watch of this.watches) watch.stop();
    this.watches.clear();
  }
}

import { type SkuView, availableFor } from '../domain/sku';

/** `stock` for any change; `sold_out` and `back_in_stock` when a SKU's available units reach 0 or leave it. */
export type StockEventName = 'stock' | 'sold_out' | 'back_in_stock';

export interface StockEvent {
  name: StockEventName;
  view: SkuView;
}

export type StockListener = (event: StockEvent) => void;

/** A SKU someone watches: its latest view, what was last sent, and listeners. */
interface Watched {
  listeners: Set<StockListener>;
  view: SkuView;
  version: number;
  /** Which read the view came from: a read issued earlier never replaces it. */
  readNumber: number;
  /** Units on sale when the last event went out: a change to or from 0 names the next event. */
  sentAvailable: number;
  sentAt: number;
  /** A newer view than the last sent, held back until the minimum interval has passed. */
  timer?: NodeJS.Timeout;
}

/** How live events read Redis: a SKU's change counter alone, and whole SKUs with theirs. */
export interface StockReader {
  readVersions(skus: readonly string[]): Promise<(number | null)[]>;
  readStates(skus: readonly string[]): Promise<({ view: SkuView; version: number } | null)[]>;
}

/**
 * Live stock events for the SKUs streams watch: each watcher gets every change of its SKUs, at
 * most one event per SKU per `minIntervalMs` (10 per second by default), the latest view winning.
 *
 * Changes are found by asking Redis, every `pollMs` while anyone watches, for the change counter
 * of each watched SKU (one field each), then reading whole only the SKUs whose counter moved. So
 * the cost grows with the SKUs watched in this process, never with the rate of reserves, and
 * every process sees every change made through any process, on one Redis or a cluster. A counter
 * that moves back (a rebuild after Redis lost its data) is a change too.
 */
export class StockEvents {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  /** Set by close(): a watch whose first read ends after it registers nothing. */
  private closed = false;
  /** Numbers the reads in the order they were sent; on one connection per shard Redis answers them in that order. */
  private reads = 0;

  constructor(
    private readonly reader: StockReader,
    private readonly options: { minIntervalMs?: number; pollMs?: number } = {},
  ) {}

  /**
   * Watches `skus` (all known: unknown ones answer null and nothing is watched). Answers their
   * current views, then calls `listener` with each later event; `stop` ends the watch. Answers
   * `abandoned`, watching nothing, when `signal` was aborted (the client left) or close() was
   * called while the views were read: nobody would ever stop that watch.
   */
  async watch(
    skus: readonly string[],
    listener: StockListener,
    signal?: AbortSignal,
  ): Promise<{ views: SkuView[]; stop: () => void } | { missing: string[] } | { abandoned: true }> {
    const abandoned = () => signal?.aborted || this.closed;
    if (abandoned()) return { abandoned: true };
    const readNumber = ++this.reads;
    const states = await this.reader.readStates(skus);
    if (abandoned()) return { abandoned: true };
    const missing = skus.filter((_, n) => !states[n]);
    if (missing.length) return { missing };
    const views: SkuView[] = [];
    states.forEach((state, n) => {
      const { view, version } = state!;
      let watched = this.watched.get(skus[n]);
      if (!watched) {
        watched = { listeners: new Set(), view, version, readNumber, sentAvailable: availableFor(view), sentAt: 0 };
        this.watched.set(skus[n], watched);
      } else {
        // Its other watchers get this change as an event; the new one has it as its first view.
        this.update(watched, state!, readNumber);
      }
      watched.listeners.add(listener);
      views.push(watched.view);
    });
    this.timer ??= setInterval(() => void this.poll(), this.options.pollMs ?? 100);
    return { views, stop: () => this.unwatch(skus, listener) };
  }

  /** The SKUs watched: each is polled every `pollMs`. */
  get watchedSkus(): number {
    return this.watched.size;
  }

  /** Ends every watch (shutdown). */
  close(): void {
    this.closed = true;
    for (const watched of this.watched.values()) clearTimeout(watched.timer);
    this.watched.clear();
    this.stopIfIdle();
  }

  private unwatch(skus: readonly string[], listener: StockListener): void {
    for (const sku of skus) {
      const watched = this.watched.get(sku);
      if (!watched) continue;
      watched.listeners.delete(listener);
      if (!watched.listeners.size) {
        clearTimeout(watched.timer);
        this.watched.delete(sku);
      }
    }
    this.stopIfIdle();
  }

  private stopIfIdle(): void {
    if (this.watched.size) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look for changes; a look Redis cannot answer is simply made again at the next tick. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const skus = [...this.watched.keys()];
      const versions = await this.reader.readVersions(skus);
      const moved = skus.filter((sku, n) => versions[n] !== null && versions[n] !== this.watched.get(sku)?.version);
      if (!moved.length) return;
      const readNumber = ++this.reads;
      const states = await this.reader.readStates(moved);
      states.forEach((state, n) => {
        const watched = this.watched.get(moved[n]);
        if (state && watched) this.update(watched, state, readNumber);
      });
    } catch {
      // Redis unreachable or being rebuilt: the next tick asks again.
    } finally {
      this.polling = false;
    }
  }

  /** A view read as `readNumber`: taken when newer than the one held and different, then sent (or held back). */
  private update(watched: Watched, { view, version }: { view: SkuView; version: number }, readNumber: number): void {
    if (readNumber <= watched.readNumber || version === watched.version) return;
    Object.assign(watched, { view, version, readNumber });
    const wait = watched.sentAt + (this.options.minIntervalMs ?? 100) - Date.now();
    if (wait <= 0) this.send(watched);
    else watched.timer ??= setTimeout(() => this.send(watched), wait);
  }

  private send(watched: Watched): void {
    watched.timer = undefined;
    watched.sentAt = Date.now();
    const available = availableFor(watched.view);
    const name: StockEventName = watched.sentAvailable > 0 && available === 0 ? 'sold_out' : watched.sentAvailable === 0 && available > 0 ? 'back_in_stock' : 'stock';
    watched.sentAvailable = available;
    const event = { name, view: watched.view };
    for (const listener of watched.listeners) listener(event);
  }
}

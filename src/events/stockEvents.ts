import { type SkuView, availableFor } from '../domain/sku';
import type { StockChange, StockFeed } from './stockFeed';

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
  /** Units on sale when the last event went out: a change to or from 0 names the next event. */
  sentAvailable: number;
  sentAt: number;
  /** A newer view than the last sent, held back until MIN_INTERVAL_MS has passed. */
  timer?: NodeJS.Timeout;
}

/**
 * Live stock events for the SKUs streams watch: each watcher gets every change of its SKUs, at
 * most one event per SKU per `minIntervalMs` (10 per second by default), the latest view winning;
 * one feed of changes serves every watcher of this process.
 */
export class StockEvents {
  private readonly watched = new Map<string, Watched>();
  private stopFeed: (() => void) | undefined;

  constructor(
    private readonly feed: StockFeed,
    private readonly readStates: (skus: readonly string[]) => Promise<({ view: SkuView; version: number } | null)[]>,
    private readonly minIntervalMs = 100,
  ) {}

  /**
   * Watches `skus` (all known: unknown ones answer null and nothing is watched). Answers their
   * current views, then calls `listener` with each later event; `stop` ends the watch.
   */
  async watch(skus: readonly string[], listener: StockListener): Promise<{ views: SkuView[]; stop: () => void } | { missing: string[] }> {
    // Listening before reading: a change made meanwhile arrives after, and is dropped if the read already shows it.
    this.stopFeed ??= this.feed.listen((changes) => this.apply(changes));
    const states = await this.readStates(skus).catch((error) => {
      this.stopIfIdle();
      throw error;
    });
    const missing = skus.filter((_, n) => !states[n]);
    if (missing.length) {
      this.stopIfIdle();
      return { missing };
    }
    const views: SkuView[] = [];
    states.forEach((state, n) => {
      const { view, version } = state!;
      let watched = this.watched.get(skus[n]);
      if (!watched) {
        watched = { listeners: new Set(), view, version, sentAvailable: availableFor(view), sentAt: 0 };
        this.watched.set(skus[n], watched);
      } else if (version > watched.version) {
        Object.assign(watched, { view, version });
      }
      watched.listeners.add(listener);
      views.push(watched.view);
    });
    return { views, stop: () => this.unwatch(skus, listener) };
  }

  /** Ends every watch (shutdown). */
  close(): void {
    for (const watched of this.watched.values()) clearTimeout(watched.timer);
    this.watched.clear();
    this.stopFeed?.();
    this.stopFeed = undefined;
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
    this.stopFeed?.();
    this.stopFeed = undefined;
  }

  private apply(changes: StockChange[]): void {
    for (const change of changes) {
      const watched = this.watched.get(change.sku);
      if (!watched || change.version <= watched.version) continue;
      watched.version = change.version;
      watched.view = { ...watched.view, ...change.settings, ...change.counters, locations: change.locations };
      const wait = watched.sentAt + this.minIntervalMs - Date.now();
      if (wait <= 0) this.send(watched);
      else watched.timer ??= setTimeout(() => this.send(watched), wait);
    }
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

import type { Outbox } from '../redis/outbox';
import { parseEntry } from '../redis/outboxEntry';
import { defaultLevel, levelsOfRows } from '../redis/stockHash';
import type { LocationLevel, SkuView } from '../domain/sku';

/** A SKU's counters after one change, as the script that made it left them. */
export interface StockChange {
  sku: string;
  /** The SKU's change counter: changes of one SKU arrive in its order. */
  version: number;
  counters: Pick<SkuView, 'total' | 'available' | 'reserved' | 'sold'>;
  locations: LocationLevel[];
  /** Set by a PUT of the SKU: its settings as they now stand. */
  settings?: Pick<SkuView, 'perUserLimit' | 'startsAt' | 'endsAt'>;
}

const time = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * Every change of stock, as each engine process sees it: the outbox streams (one per partition,
 * every script appends the counters it left) read from their newest entry on, outside the
 * reconciler's consumer group, every `intervalMs` while anyone listens. Each process reads for
 * itself, so several processes and a cluster need nothing shared. Reading stops with the last
 * listener; a read Redis cannot answer is tried again at the next tick.
 */
export class StockFeed {
  private readonly listeners = new Set<(changes: StockChange[]) => void>();
  private after: (string | null)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(
    private readonly outbox: Outbox,
    private readonly options: { intervalMs?: number; batch?: number } = {},
  ) {}

  /** Calls `listener` with every batch of changes from now on; returns the way to stop. */
  listen(listener: (changes: StockChange[]) => void): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.after = this.outbox.partitions.map(() => null);
      this.timer = setInterval(() => void this.read(), this.options.intervalMs ?? 100);
      void this.read();
    }
    return () => {
      this.listeners.delete(listener);
      if (!this.listeners.size) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private async read(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const tails = await this.outbox.tail(this.after, this.options.batch ?? 1000);
      const changes: StockChange[] = [];
      tails.forEach(({ next, entries }, n) => {
        this.after[n] = next;
        for (const { entryId, json } of entries) changes.push(...changesOf(entryId, json));
      });
      if (changes.length) for (const listener of this.listeners) listener(changes);
    } catch {
      // Redis unreachable: the next tick reads again from where this one stood.
    } finally {
      this.reading = false;
    }
  }
}

function changesOf(entryId: string, json: string): StockChange[] {
  const { events, stock } = parseEntry(entryId, json);
  return stock.map(([sku, total, available, reserved, sold, version, rows]) => {
    const counters = { total, available, reserved, sold };
    const set = events.find((event) => event.type === 'SET' && event.sku === sku);
    const settings = set?.type === 'SET' ? { perUserLimit: set.perUserLimit ?? null, startsAt: time(set.startsAt), endsAt: time(set.endsAt) } : undefined;
    return { sku, version, counters, locations: rows ? levelsOfRows(rows) : [defaultLevel(counters)], ...(settings && { settings }) };
  });
}

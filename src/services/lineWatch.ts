import { allPartitions } from '../redis/partitions';
import type { StockEngine } from '../redis/stockEngine';
import type { StockMaintenance } from '../redis/stockMaintenance';

/** Lines served per partition and round at most. */
const LINES_PER_ROUND = 50;

/**
 * Serves, within a round of their expiry, the lines whose admitted holds' time ran out: the hold's
 * units go to the next ticket (lua/sweep_expired.lua serves the line in the same step). Every other
 * path that makes a lined SKU's units available (a release, an adjust, a PUT, any call on the line)
 * serves it itself; only the passing of time needs a watcher. Every engine process runs one: the
 * scripts are atomic, so two serving one line at once change nothing twice.
 */
export class LineWatch {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly engine: StockEngine,
    private readonly maintenance: StockMaintenance,
    private readonly partitions: number,
  ) {}

  watch(intervalMs = 250): void {
    this.timer ??= setInterval(() => {
      // A round still running (Redis slow) is not doubled; a failing one waits for the next tick.
      this.running ??= this.serveDue()
        .then(
          () => {},
          () => {},
        )
        .finally(() => (this.running = undefined));
    }, intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round over every partition; returns how many lines it served. */
  async serveDue(): Promise<number> {
    const now = await this.engine.redisTimeMs();
    let served = 0;
    for (const partition of allPartitions(this.partitions)) {
      const due = await this.engine.dueLines(partition, now, LINES_PER_ROUND);
      await Promise.all(due.map((sku) => this.maintenance.sweepSku(sku, LINES_PER_ROUND)));
      served += due.length;
    }
    return served;
  }
}

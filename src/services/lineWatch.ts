import { allPartitions } from '../redis/partitions';
import type { StockEngine } from '../redis/stockEngine';
import type { StockMaintenance } from '../redis/stockMaintenance';

/** Lines served per partition and round at most. */
const LINES_PER_ROUND = 50;
/** Passes of one round at most (a pass serves each due line once), so a round always ends. */
const MAX_PASSES = 200;

/**
 * Serves, within a round of their expiry, the lines whose admitted holds' time ran out: the hold's
 * units go to the next ticket (lua/sweep_expired.lua serves the line in the same step). Every other
 * path that makes a lined SKU's units available (a release, an adjust, a PUT, any call on the line)
 * serves it itself; only the passing of time needs a watcher, and the ending of a long line's
 * tickets once it sold out, which one call does only in part. Every engine process runs one: the
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

  /**
   * One round over every partition; returns how many lines it served. A line with more tickets to
   * end than one call ends (lua/includes/line.lua, LINE_END_LIMIT) is filed due at once: the round
   * serves it again, call after call, until nothing is due (MAX_PASSES at most).
   */
  async serveDue(): Promise<number> {
    let served = 0;
    // After the first pass, only the partitions that had lines due are looked at again.
    let partitions = allPartitions(this.partitions);
    for (let pass = 0; pass < MAX_PASSES && partitions.length; pass++) {
      const now = await this.engine.redisTimeMs();
      const busy: number[] = [];
      for (const partition of partitions) {
        const skus = await this.engine.dueLines(partition, now, LINES_PER_ROUND);
        if (!skus.length) continue;
        await Promise.all(skus.map((sku) => this.maintenance.sweepSku(sku, LINES_PER_ROUND)));
        served += skus.length;
        busy.push(partition);
      }
      partitions = busy;
    }
    return served;
  }
}

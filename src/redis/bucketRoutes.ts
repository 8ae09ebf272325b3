import { bucketSku, parseBucketSku } from '../domain/buckets';
import type { RequestedLine } from '../domain/reservation';
import { homeBucket } from './partitions';

/** What routing a split SKU's lines needs: its bucket count, and whether a per-user limit ties each user to one bucket. */
interface Split {
  buckets: number;
  limited: boolean;
}

/**
 * Which bucket of each split SKU (src/domain/buckets.ts) this process sends a reserve's line to:
 * - under a per-user limit, the user's home bucket, where the user's count is kept;
 * - a reserve with an Idempotency-Key too (draw null): whether its key is bound in the reserve's
 *   own script or claimed first in the user's partition depends on its bucket's partition, and a
 *   retry must take the same path (src/redis/reserveOperations.ts);
 * - else the bucket of the reserve's draw: every reserve this process reads in one
 *   event-loop turn draws the same number, the next turn the next one. The turn's reserves then
 *   share one script call in one bucket, as on an unsplit SKU, where spreading them by user would
 *   cut each call into as many as there are buckets (one script call costs Redis about as much as
 *   four reserves in it); over turns the buckets take turns.
 * The counts are learnt from the scripts' replies (a split SKU's line answers its count and
 * whether it is limited; a limited one answers WRONG_BUCKET to a line naming another than the
 * user's bucket), so a process that has not learnt one yet (or learnt an older one) is corrected
 * by its first reserves of the SKU; it never decides a reserve on its own.
 */
export class BucketRoutes {
  /** Split SKUs (more than one bucket) by their own name. */
  private readonly splits = new Map<string, Split>();
  private turn = 0;
  private turnEnding = false;

  /**
   * This turn's draw: the same for every reserve read in the current event-loop turn. A reserve
   * keeps its draw across the refills of its bucket (src/services/reservations.ts).
   */
  draw(): number {
    // No turn to count while nothing is split: most reserves never schedule anything here.
    if (!this.turnEnding && this.splits.size > 0) {
      this.turnEnding = true;
      setImmediate(() => {
        this.turn += 1;
        this.turnEnding = false;
      });
    }
    return this.turn;
  }

  /** The request's lines with each split SKU's line sent to its bucket; the same array when none is split. */
  route(lines: readonly RequestedLine[], userId: string, draw: number | null): readonly RequestedLine[] {
    if (this.splits.size === 0 || !lines.some((line) => this.splits.has(line.sku))) return lines;
    return lines.map((line) => (this.splits.has(line.sku) ? { ...line, sku: this.bucketFor(line.sku, userId, draw) } : line));
  }

  /** The bucket (its internal SKU) a line of `sku` with this user and draw goes to; the SKU itself when not known split. */
  bucketFor(sku: string, userId: string, draw: number | null): string {
    const split = this.splits.get(sku);
    if (!split) return sku;
    return bucketSku(sku, split.limited || draw === null ? homeBucket(userId, split.buckets) : draw % split.buckets);
  }

  /** The scripts said the SKU is split into `buckets` (1: not split), and whether under a per-user limit (unsaid: as known, else limited). */
  learn(sku: string, buckets: number, limited?: boolean): void {
    if (buckets > 1) this.splits.set(sku, { buckets, limited: limited ?? this.splits.get(sku)?.limited ?? true });
    else this.splits.delete(sku);
  }

  /** Whether a SKU is known split without a per-user limit: its reserves go to their draw's bucket. */
  spreads(sku: string): boolean {
    return this.splits.get(sku)?.limited === false;
  }

  /** Buckets a SKU (or the SKU a bucket belongs to) is split into, as learnt; 1 when not known split. */
  bucketsOf(name: string): number {
    return this.splits.get(parseBucketSku(name).sku)?.buckets ?? 1;
  }
}

/** A reserve named a bucket other than its user's, of a SKU under a per-user limit: routed again with the count the script gave. */
export class WrongBucketError extends Error {
  constructor(
    readonly sku: string,
    readonly buckets: number,
  ) {
    super(`${sku} is split into ${buckets} buckets under a per-user limit: the reserve was sent to another than its user's`);
  }
}

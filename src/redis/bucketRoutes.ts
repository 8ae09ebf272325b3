import { bucketSku, parseBucketSku } from '../domain/buckets';
import type { RequestedLine } from '../domain/reservation';
import { homeBucket } from './partitions';

/**
 * Which bucket of each split SKU (src/domain/buckets.ts) this process sends a user's reserves to:
 * the user's home bucket. The counts are learnt from the scripts, which answer WRONG_BUCKET to a
 * line naming any other bucket, so a process that has not learnt one yet (or learnt an older one)
 * is corrected by its first reserve of the SKU; it never decides a reserve on its own.
 */
export class BucketRoutes {
  /** Split SKUs (more than one bucket) by their own name. */
  private readonly counts = new Map<string, number>();

  /** The request's lines with each split SKU's line sent to the user's bucket; the same array when none is split. */
  route(lines: readonly RequestedLine[], userId: string): readonly RequestedLine[] {
    if (this.counts.size === 0 || !lines.some((line) => this.counts.has(line.sku))) return lines;
    return lines.map((line) => {
      const buckets = this.counts.get(line.sku);
      return buckets ? { ...line, sku: bucketSku(line.sku, homeBucket(userId, buckets)) } : line;
    });
  }

  /** The scripts said the SKU is split into `buckets` (1: not split). */
  learn(sku: string, buckets: number): void {
    if (buckets > 1) this.counts.set(sku, buckets);
    else this.counts.delete(sku);
  }

  /** Buckets a SKU (or the SKU a bucket belongs to) is split into, as learnt; 1 when not known split. */
  bucketsOf(name: string): number {
    return this.counts.get(parseBucketSku(name).sku) ?? 1;
  }
}

/** A reserve named a bucket other than its user's: routed again with the count the script gave. */
export class WrongBucketError extends Error {
  constructor(
    readonly sku: string,
    readonly buckets: number,
  ) {
    super(`${sku} is split into ${buckets} buckets: the reserve was sent to another than its user's`);
  }
}

import type { PostedState } from './soldOutBoard';

/** What one read of one bucket of a split SKU found (soldOutReads.ts, bucketRead). */
export interface BucketRead {
  /** What the bucket alone would allow answering, as an unsplit SKU's read does; null: nothing. */
  post: PostedState | null;
  /** The bucket count the bucket's hash holds. */
  buckets: number;
  /** Units are on their way out of the bucket to another: counted in neither's available. */
  moving: boolean;
  /** The bucket's state: its epoch and change counter. */
  mark: string;
}

/**
 * What a round of reads allows for a SKU split into buckets (src/domain/buckets.ts), and the marks
 * the next round compares with. The buckets live in several partitions, each read by its own
 * script call, so one round is not a state the SKU was ever in: units moving between two buckets
 * may be read in neither. Two rounds in a row that read every bucket unchanged are: each bucket
 * kept its state from its read in the first round to its read in the second, and every read of
 * the second was sent after every read of the first had come back, so at that moment in between
 * the SKU held the sum of what they read. Answers nothing while units move out of a bucket, while
 * any bucket cannot be answered from alone (its sale not open, a hold about to expire), under a
 * per-user limit (a user's bucket answers PURCHASE_LIMIT_EXCEEDED first), or when a bucket holds
 * another count than the one watched (the SKU grew buckets: watched again).
 */
export function splitPost(reads: readonly (BucketRead | undefined)[], buckets: number, previousMarks: string | undefined): { post: PostedState | null; marks: string | undefined } {
  if (reads.length !== buckets || !reads.every(Boolean)) return { post: null, marks: undefined };
  const marks = reads.map((read) => read!.mark).join(',');
  if (marks !== previousMarks) return { post: null, marks };
  const sum: PostedState = { validUntil: Number.POSITIVE_INFINITY, available: 0, version: 0, shardEpoch: 0, limit: null, lined: false };
  for (const read of reads as BucketRead[]) {
    const { post } = read;
    if (!post || read.moving || read.buckets !== buckets || post.limit !== null || post.lined) return { post: null, marks };
    sum.validUntil = Math.min(sum.validUntil, post.validUntil);
    sum.available += post.available;
    // Moves on with any bucket's change: what the watch learnt under one sum is not kept under another.
    sum.version += post.version;
    sum.shardEpoch = Math.max(sum.shardEpoch, post.shardEpoch);
  }
  return { post: sum, marks };
}

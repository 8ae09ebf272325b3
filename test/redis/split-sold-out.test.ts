/**
 * The rule that answers a split SKU from its buckets' reads (src/redis/splitSoldOut.ts): a sum
 * only from two rounds in a row that read every bucket unchanged, and none while units move out
 * of a bucket, a bucket cannot be answered alone, a per-user limit applies, or a bucket holds
 * another count than the one watched.
 */
import { describe, expect, it } from 'vitest';
import type { PostedState } from '../../src/redis/soldOutBoard';
import { type BucketRead, splitPost } from '../../src/redis/splitSoldOut';

const post = (available: number, version: number, extra: Partial<PostedState> = {}): PostedState => ({ validUntil: 1_000, available, version, shardEpoch: 1, limit: null, lined: false, ...extra });
const read = (available: number, version: number, extra: Partial<BucketRead> & { post?: PostedState | null } = {}): BucketRead => ({
  post: post(available, version),
  buckets: 3,
  moving: false,
  mark: `1:${version}`,
  ...extra,
});

describe('splitPost', () => {
  const round = [read(0, 4), read(1, 9), read(0, 2)];

  it('answers nothing from a first round, then the sum once a second reads every bucket unchanged', () => {
    const first = splitPost(round, 3, undefined);
    expect(first.post).toBeNull();
    const second = splitPost(round, 3, first.marks);
    expect(second.post).toEqual({ validUntil: 1_000, available: 1, version: 15, shardEpoch: 1, limit: null, lined: false });
    expect(second.marks).toBe(first.marks);
  });

  it('answers nothing when any bucket changed between the two rounds, and starts over from the new marks', () => {
    const { marks } = splitPost(round, 3, undefined);
    const changed = [read(0, 4), read(0, 10), read(1, 3)];
    const next = splitPost(changed, 3, marks);
    expect(next.post).toBeNull();
    expect(splitPost(changed, 3, next.marks).post?.available).toBe(1);
  });

  it('keeps the earliest validity of its buckets', () => {
    const reads = [read(0, 1, { post: post(0, 1, { validUntil: 900 }) }), read(0, 2), read(0, 3, { post: post(0, 3, { validUntil: 950 }) })];
    expect(splitPost(reads, 3, splitPost(reads, 3, undefined).marks).post?.validUntil).toBe(900);
  });

  it.each([
    ['units moving out of a bucket', read(0, 2, { moving: true })],
    ['a bucket that cannot be answered alone', read(0, 2, { post: null })],
    ['a per-user limit', read(0, 2, { post: post(0, 2, { limit: 2 }) })],
    ['a bucket holding another count', read(0, 2, { buckets: 4 })],
  ])('answers nothing with %s', (_, odd) => {
    const reads = [read(0, 1), odd, read(0, 3)];
    expect(splitPost(reads, 3, splitPost(reads, 3, undefined).marks).post).toBeNull();
  });

  it('answers nothing when a bucket was not read (gone, or its partition did not answer), and forgets the round', () => {
    const reads = [read(0, 1), undefined, read(0, 3)];
    expect(splitPost(reads, 3, undefined)).toEqual({ post: null, marks: undefined });
    expect(splitPost([read(0, 1), read(0, 2)], 3, undefined)).toEqual({ post: null, marks: undefined });
  });
});

import type { OutboxEntry } from './outboxEntry';
import { parseEntry } from './outboxEntry';
import type { RedisStore } from './redisStore';
import { ReplyCode } from './replyCodes';
import { bucketMoveDoneCall, bucketMoveInCall, bucketMoveOutCall } from './scriptCalls';

/**
 * A move between two buckets of a SKU (src/domain/buckets.ts): `qty` units from `source` to
 * `target`, of one `location` on a SKU with locations ('' without).
 */
export interface BucketMove {
  id: string;
  source: string;
  target: string;
  qty: number;
  location: string;
}

/** A move still pending in its source's partition, and when it began (Redis time, ms). */
export interface PendingMove extends BucketMove {
  startedAtMs: number;
}

export type MoveOutReply =
  | { taken: true; partition: number; entry: OutboxEntry }
  | { taken: false; reason: 'SKU_NOT_FOUND' }
  | { taken: false; reason: 'INSUFFICIENT_STOCK'; available: number };

/** The three steps of a move in Redis (lua/bucket_move_out.lua, bucket_move_in.lua, bucket_move_done.lua). */
export class BucketMoveScripts {
  constructor(private readonly store: RedisStore) {}

  /** The partition of a move's source bucket: the one whose outbox records the move out. */
  sourcePartition(move: BucketMove): number {
    return this.store.keys.partitionOfSku(move.source);
  }

  /** Redis time (ms): what a pending move's start is counted in. */
  timeMs(): Promise<number> {
    return this.store.timeMs();
  }

  /** Takes the units out of the source bucket; answers the outbox entry that records it. */
  async takeOut(move: BucketMove): Promise<MoveOutReply> {
    const reply = await this.store.run<[number, string | number, string?]>(bucketMoveOutCall(this.store, move));
    if (reply[0] === ReplyCode.SkuNotFound) return { taken: false, reason: 'SKU_NOT_FOUND' };
    if (reply[0] === ReplyCode.InsufficientStock) return { taken: false, reason: 'INSUFFICIENT_STOCK', available: Number(reply[1]) };
    const partition = this.sourcePartition(move);
    return { taken: true, partition, entry: parseEntry(String(reply[1]), String(reply[2]), partition) };
  }

  /** Adds the units to the target bucket, unless they were added before (or the target bucket is missing). */
  async putIn(move: BucketMove): Promise<'added' | 'added before' | 'SKU_NOT_FOUND'> {
    const [code] = await this.store.run<number[]>(bucketMoveInCall(this.store, move));
    if (code === ReplyCode.SkuNotFound) return 'SKU_NOT_FOUND';
    return code === ReplyCode.Repeated ? 'added before' : 'added';
  }

  /** Ends the move at its source: its units no longer count as moving out. False when it was not pending there. */
  async finish(move: Pick<BucketMove, 'id' | 'source'>): Promise<boolean> {
    return (await this.store.run<number>(bucketMoveDoneCall(this.store, move.id, move.source))) === 1;
  }

  /** Whether a move's units reached its target (its marker there). */
  async arrived(move: Pick<BucketMove, 'id' | 'target'>): Promise<boolean> {
    return (await this.store.call((client) => client.exists(this.store.keys.bucketMoveIn(move.target, move.id)))) === 1;
  }

  /** The moves pending in a partition (their source is there). */
  async pending(partition: number): Promise<PendingMove[]> {
    const all = await this.store.call((client) => client.hgetall(this.store.keys.bucketMoves(partition)));
    return Object.entries(all).map(([id, text]) => {
      const [source, target, qty, startedAtMs, location = ''] = text.split('|');
      return { id, source, target, qty: Number(qty), startedAtMs: Number(startedAtMs), location };
    });
  }
}

/** A split SKU's bucket's total changed (a move in or out, another write) since its write read it (lua/set_stock.lua): the write is planned again. */
export class BucketChangedError extends Error {
  constructor(readonly bucket: string) {
    super(`the total of ${bucket} changed since it was read`);
  }
}

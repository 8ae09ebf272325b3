import { performance } from 'node:perf_hooks';

/**
 * A clock in ms that every thread of the process reads alike: `performance.now()` alone counts
 * from the start of the thread that reads it.
 */
export const boardNow = (): number => performance.timeOrigin + performance.now();

/** What a read of a sold-out SKU allows: answering it from here until `validUntil` (boardNow). */
export interface PostedState {
  validUntil: number;
  /** Units available at the read (a lined SKU: unsold), only a request for more is refused. */
  available: number;
  /** The SKU's change counter at the read: another one means other users, other counts. */
  version: number;
  /** The shard epoch the version counts in (a rebuild may count a version again in a new one). */
  shardEpoch: number;
  limit: number | null;
  /** A lined SKU: its joins are answered from here, its reserves never (the script says LINE_REQUIRED). */
  lined: boolean;
}

/**
 * Per slot, in 32-bit cells (Atomics on them allocate nothing, unlike a BigInt64Array's): a seqlock
 * counter, the slot's generation, the generation posted under, then the fields of PostedState, the
 * three that may pass 2^31 (times in ms, a change counter) split in a high and a low half.
 */
const SEQ = 0;
const GENERATION = 1;
const POSTED_GENERATION = 2;
const VALID_UNTIL_HIGH = 3;
const VALID_UNTIL_LOW = 4;
const AVAILABLE = 5;
const VERSION_HIGH = 6;
const VERSION_LOW = 7;
const LIMIT = 8;
const LINED = 9;
const EPOCH_HIGH = 10;
const EPOCH_LOW = 11;
const FIELDS = 12;
const NO_LIMIT = -1;
const HALF = 2 ** 32;

/**
 * What the reads of sold-out SKUs (soldOutReads.ts) last found, in memory every thread of the
 * process shares: the reads may run on a thread of their own, whose event loop is not held up by
 * thousands of requests, and the request thread reads the board without waiting for a message.
 *
 * One slot per watched SKU. The request thread owns the slots: it renews a slot's generation when
 * it gives the slot to a SKU or knows that units may have come back, which voids whatever was
 * posted before; a read posts only under the generation it was sent under. Each slot is written
 * by the reads alone, under a seqlock, so a reader sees the fields of one post or nothing.
 */
export class SoldOutBoard {
  /** SKUs watched at once at most; a further sold-out SKU is answered by Redis. */
  static readonly SLOTS = 1024;
  readonly buffer: SharedArrayBuffer;
  private readonly cells: Int32Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(SoldOutBoard.SLOTS * FIELDS * Int32Array.BYTES_PER_ELEMENT);
    this.cells = new Int32Array(this.buffer);
  }

  generation(slot: number): number {
    return Atomics.load(this.cells, slot * FIELDS + GENERATION);
  }

  /** Voids what was posted for the slot, and any read of it still on its way. */
  renew(slot: number): void {
    Atomics.add(this.cells, slot * FIELDS + GENERATION, 1);
  }

  /** Posts what a read sent under `generation` found (null: not to be answered from); dropped when the slot was renewed since. */
  post(slot: number, generation: number, state: PostedState | null): void {
    const base = slot * FIELDS;
    if (this.generation(slot) !== generation) return;
    const cells = this.cells;
    const validUntil = Math.floor(state?.validUntil ?? 0);
    const version = state?.version ?? 0;
    const shardEpoch = state?.shardEpoch ?? 0;
    Atomics.add(cells, base + SEQ, 1);
    Atomics.store(cells, base + POSTED_GENERATION, generation);
    Atomics.store(cells, base + VALID_UNTIL_HIGH, Math.floor(validUntil / HALF));
    Atomics.store(cells, base + VALID_UNTIL_LOW, validUntil % HALF);
    Atomics.store(cells, base + AVAILABLE, state?.available ?? 0);
    Atomics.store(cells, base + VERSION_HIGH, Math.floor(version / HALF));
    Atomics.store(cells, base + VERSION_LOW, version % HALF);
    Atomics.store(cells, base + LIMIT, state?.limit ?? NO_LIMIT);
    Atomics.store(cells, base + LINED, state?.lined ? 1 : 0);
    Atomics.store(cells, base + EPOCH_HIGH, Math.floor(shardEpoch / HALF));
    Atomics.store(cells, base + EPOCH_LOW, shardEpoch % HALF);
    Atomics.add(cells, base + SEQ, 1);
  }

  /**
   * The slot's state if it was posted under the slot's current generation and is valid at `now`;
   * undefined otherwise, also while a post is being written (the caller asks Redis instead).
   */
  read(slot: number, now: number): PostedState | undefined {
    const base = slot * FIELDS;
    const cells = this.cells;
    const seq = Atomics.load(cells, base + SEQ);
    if (seq & 1) return undefined;
    const posted = Atomics.load(cells, base + POSTED_GENERATION);
    const validUntil = Atomics.load(cells, base + VALID_UNTIL_HIGH) * HALF + (Atomics.load(cells, base + VALID_UNTIL_LOW) >>> 0);
    const available = Atomics.load(cells, base + AVAILABLE);
    const version = Atomics.load(cells, base + VERSION_HIGH) * HALF + (Atomics.load(cells, base + VERSION_LOW) >>> 0);
    const limit = Atomics.load(cells, base + LIMIT);
    const lined = Atomics.load(cells, base + LINED) === 1;
    const shardEpoch = Atomics.load(cells, base + EPOCH_HIGH) * HALF + (Atomics.load(cells, base + EPOCH_LOW) >>> 0);
    if (Atomics.load(cells, base + SEQ) !== seq) return undefined;
    if (posted !== Atomics.load(cells, base + GENERATION) || validUntil <= now) return undefined;
    return { validUntil, available, version, shardEpoch, limit: limit === NO_LIMIT ? null : limit, lined };
  }
}

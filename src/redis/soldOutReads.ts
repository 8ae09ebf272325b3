import { bucketSkus } from '../domain/buckets';
import { allPartitions } from './partitions';
import type { RedisStore } from './redisStore';
import { type PostedState, type SoldOutBoard, boardNow } from './soldOutBoard';
import { soldOutCheckCall } from './scriptCalls';
import { type BucketRead, splitPost } from './splitSoldOut';

/**
 * The longest a SKU is answered sold out after the read that last saw it so: a unit that comes
 * back later is offered within this bound, whoever returned it (docs/architecture.md#sold-out-answers).
 */
export const SOLD_OUT_BOUND_MS = 100;

/** How often the watched SKUs are read: several reads per bound, so one slow read does not lapse them. */
export const SOLD_OUT_WATCH_MS = 25;

/** The state sold_out_check.lua reads of a SKU: {} when missing, else thirteen strings ("" for none). */
export type CheckedState = [] | [string, string, string, string, string, string, string, string, string, string, string, string, string];

/**
 * What a read sent at `sentAt` (boardNow) that found a SKU in `state` at `redisNow` (Redis time)
 * allows, or null when the SKU may not be answered from here: it is gone, located or split into
 * buckets (its buckets together decide: splitSoldOut.ts), or the sale is not open. The bound
 * counts from the sending: the read ran at Redis after it.
 */
export function soldOutFor(state: CheckedState, redisNow: number, sentAt: number): PostedState | null {
  if (state.length === 0 || state[11]) return null;
  return allowedAlone(state, redisNow, sentAt);
}

/** One bucket's read of a split SKU, for splitPost (splitSoldOut.ts); undefined when the bucket is gone. */
export function bucketRead(state: CheckedState, redisNow: number, sentAt: number): BucketRead | undefined {
  if (state.length === 0) return undefined;
  return { post: allowedAlone(state, redisNow, sentAt), buckets: Number(state[11] || 1), moving: state[12] !== '', mark: `${state[10]}:${state[1]}` };
}

/**
 * What a SKU's (or a bucket's) own state allows, its split aside. A SKU without a line posts its
 * available units, while no hold's time ran out (the next reserve sweeps it). A lined SKU posts
 * its unsold units (total - sold), what its joins are refused SOLD_OUT against: only an
 * operator's change raises them, so holds and their expiry do not matter, and from the lobby's
 * opening on (before it, a join is refused SALE_NOT_ACTIVE).
 */
function allowedAlone(state: Exclude<CheckedState, []>, redisNow: number, sentAt: number): PostedState | null {
  const [availableText, versionText, limitText, startsAtText, endsAtText, lined, located, earliestText, unsoldText, lobbyMsText, epochText] = state;
  if (located) return null;
  const opensAt = startsAtText ? Number(startsAtText) - (lined ? Number(lobbyMsText || 0) : 0) : undefined;
  if (opensAt !== undefined && redisNow < opensAt) return null;
  let forMs = SOLD_OUT_BOUND_MS;
  for (const until of lined ? [endsAtText] : [endsAtText, earliestText]) if (until) forMs = Math.min(forMs, Number(until) - redisNow);
  if (forMs <= 0) return null;
  const units = Math.max(0, Number(lined ? unsoldText : availableText));
  return { validUntil: sentAt + forMs, available: units, version: Number(versionText), shardEpoch: Number(epochText), limit: limitText ? Number(limitText) : null, lined: lined === '1' };
}

/** Where the reads of the watched SKUs run: this thread (SoldOutReads) or one of their own (src/process/soldOutThread.ts). */
export interface SoldOutReader {
  /** `buckets`: how many the SKU is split into (1: not split), each read in its own partition. */
  watch(slot: number, sku: string, buckets: number): void;
  unwatch(slot: number): void;
  stop(): Promise<void>;
}

/** A watched SKU: the names read for it (its buckets' when split), and a split SKU's last round (splitPost). */
interface Watched {
  names: string[];
  marks?: string;
}

/**
 * Reads every watched SKU every SOLD_OUT_WATCH_MS (one script call per partition) and posts what
 * it found on the board, each under the generation its slot had when the round began. A split
 * SKU's buckets are read in their partitions' calls and posted together once every call is back.
 */
export class SoldOutReads implements SoldOutReader {
  private readonly watched = new Map<number, Watched>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly store: RedisStore,
    private readonly board: SoldOutBoard,
  ) {}

  watch(slot: number, sku: string, buckets: number): void {
    this.watched.set(slot, { names: bucketSkus(sku, buckets) });
    this.timer ??= setInterval(() => {
      // A round still running (Redis slow) is not doubled: what it would renew lapses by itself meanwhile.
      this.running ??= this.check().finally(() => (this.running = undefined));
    }, SOLD_OUT_WATCH_MS).unref();
  }

  unwatch(slot: number): void {
    this.watched.delete(slot);
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
    await this.running;
  }

  /** One round: every watched SKU read, one script call per partition. */
  async check(): Promise<void> {
    const { keys } = this.store;
    const byPartition = allPartitions(keys.partitions).map((): { slot: number; bucket: number; name: string }[] => []);
    const generations = new Map<number, number>();
    const split = new Map<number, { watched: Watched; reads: (BucketRead | undefined)[] }>();
    for (const [slot, watched] of this.watched) {
      generations.set(slot, this.board.generation(slot));
      if (watched.names.length > 1) split.set(slot, { watched, reads: [] });
      watched.names.forEach((name, bucket) => byPartition[keys.partitionOfSku(name)].push({ slot, bucket, name }));
    }
    await Promise.all(
      byPartition
        .filter((items) => items.length > 0)
        .map(async (items) => {
          const sentAt = boardNow();
          const [nowText, ...states] = await this.store.run<[string, ...CheckedState[]]>(soldOutCheckCall(this.store, items.map(({ name }) => name)));
          const redisNow = Number(nowText);
          items.forEach(({ slot, bucket }, n) => {
            const reading = split.get(slot);
            if (reading) reading.reads[bucket] = bucketRead(states[n], redisNow, sentAt);
            else this.board.post(slot, generations.get(slot)!, soldOutFor(states[n], redisNow, sentAt));
          });
        })
        .map((read) => read.catch(() => {})),
    );
    for (const [slot, { watched, reads }] of split) {
      const { post, marks } = splitPost(reads, watched.names.length, watched.marks);
      watched.marks = marks;
      this.board.post(slot, generations.get(slot)!, post);
    }
  }
}

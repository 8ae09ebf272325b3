import { bucketSkus, parseBucketSku } from '../domain/buckets';
import type { DomainError } from '../domain/errors';
import { insufficientStock, soldOut } from '../domain/refusals';
import type { RequestedLine } from '../domain/reservation';
import type { BucketRoutes } from './bucketRoutes';
import type { RedisStore } from './redisStore';
import { SoldOutBoard, boardNow } from './soldOutBoard';
import { type SoldOutReader, SoldOutReads } from './soldOutReads';
import { type TicketHolders, readTicketHolders } from './ticketHolders';

/** A SKU nobody asked for this long is no longer watched. */
const IDLE_MS = 2_000;

/** Users remembered per SKU under a per-user limit; later ones go to Redis. */
const MAX_USERS = 10_000;

/** What this process knows of one SKU it found sold out, beside what its slot of the board says. */
interface Knowledge {
  sku: string;
  /** How many buckets it was watched with (1: not split, src/domain/buckets.ts), and their partitions. */
  buckets: number;
  partitions: number[];
  slot: number;
  /** The board's fields this knowledge was last squared with; version -1 until the first. */
  version: number;
  shardEpoch: number;
  limit: number | null;
  available: number;
  /**
   * Under a per-user limit the script answers PURCHASE_LIMIT_EXCEEDED first for a user who would
   * pass it: only users the script refused INSUFFICIENT_STOCK since the SKU last changed are
   * answered, for at most the units they were refused (they held and bought no more since).
   */
  users: Map<string, number>;
  /** Unique per state of the SKU seen here: a reply to a request sent under another is not learnt from. */
  epoch: number;
  lastAsked: number;
  /** The board's last post was of a lined SKU (joins answered from here, reserves never). */
  lined: boolean;
  /** The refusal per units asked, built once while `available` holds. */
  refusals: Map<number, DomainError>;
  /** A lined SKU: who holds a ticket, last read (a join of theirs is answered with it, by Redis). */
  holders?: TicketHolders;
  readingHolders: boolean;
  /** A lined SKU: the SOLD_OUT answer to a join, built once while `available` (unsold) holds. */
  joinRefusal?: DomainError;
}

/** A reserve as this watch looks at it; `keyed` when it carries an Idempotency-Key. */
export interface SoldOutQuestion {
  userId: string;
  lines: readonly RequestedLine[];
  allowPartial: boolean;
  keyed: boolean;
}

/**
 * "Refusals cost nothing": a reserve of a SKU this process saw sold out (a join of a line sold out
 * for good) is refused without a round trip, with the 409 the script would give, while nothing can
 * have come back. A SKU is watched from a reserve the script refused INSUFFICIENT_STOCK (a join it
 * refused SOLD_OUT); its reads (soldOutReads.ts, on this thread or on
 * one of their own) post what they find on a board (soldOutBoard.ts), each post valid for
 * SOLD_OUT_BOUND_MS from the read's sending. What this process does that may return units voids
 * the SKU's post at once (forget()); what others do is seen by the next read.
 */
export class SoldOutWatch {
  readonly board = new SoldOutBoard();
  private readonly known = new Map<string, Knowledge>();
  private readonly freeSlots = Array.from({ length: SoldOutBoard.SLOTS }, (_, n) => SoldOutBoard.SLOTS - 1 - n);
  private epochs = 0;
  /** Reserves and joins refused here without a round trip, since the start. */
  refusedHere = 0;
  private reader?: SoldOutReader;
  private idleTimer?: NodeJS.Timeout;

  constructor(
    private readonly store: RedisStore,
    /** Which SKUs are split, and into how many buckets: a split SKU is watched bucket by bucket. */
    private readonly routes: BucketRoutes,
  ) {}

  /** The one line of a reserve that may be answered from here: one line naming no location, no Idempotency-Key (a key replays its first answer). */
  static soleLine({ lines, keyed }: SoldOutQuestion): RequestedLine | undefined {
    return lines.length === 1 && lines[0].location === undefined && !keyed ? lines[0] : undefined;
  }

  /** The refusal the script would answer `request` with, when it can be told from here; else undefined. */
  refusal(request: SoldOutQuestion): DomainError | undefined {
    const line = SoldOutWatch.soleLine(request);
    const k = line && this.known.get(line.sku);
    if (!k) return undefined;
    // The SKU grew buckets since it was watched: the watch would miss the new ones.
    if (k.buckets !== this.routes.bucketsOf(k.sku)) {
      this.drop(k);
      return undefined;
    }
    const now = boardNow();
    if (!this.squared(k, now) || k.lined) return undefined;
    const qty = line!.qty;
    if (qty <= k.available || (request.allowPartial && k.available > 0)) return undefined;
    if (k.limit !== null && !(qty <= (k.users.get(request.userId) ?? 0))) return undefined;
    k.lastAsked = now;
    this.refusedHere += 1;
    let refusal = k.refusals.get(qty);
    if (!refusal) {
      refusal = insufficientStock({ items: [{ sku: k.sku, requested: qty, available: k.available }] });
      k.refusals.set(qty, refusal);
    }
    return refusal;
  }

  /**
   * The SOLD_OUT refusal lua/line_join.lua would answer a join with, when it can be told from here;
   * else undefined. The script answers a user who holds a ticket with it before it looks at the
   * units: only a user outside the line's ticket holders, read at the state the board shows, is
   * refused here.
   */
  joinRefusal(sku: string, userId: string, qty: number): DomainError | undefined {
    const k = this.known.get(sku);
    if (!k) return undefined;
    const now = boardNow();
    if (!this.squared(k, now) || !k.lined || qty <= k.available) return undefined;
    const { holders } = k;
    if (holders?.version !== k.version || holders.shardEpoch !== k.shardEpoch) {
      this.readHolders(k);
      return undefined;
    }
    if (!holders.users || holders.users.has(userId)) return undefined;
    k.lastAsked = now;
    this.refusedHere += 1;
    k.joinRefusal ??= soldOut(k.sku, k.available);
    return k.joinRefusal;
  }

  /** Whether any SKU is watched (the usual answer while a sale still sells: no). */
  get watching(): boolean {
    return this.known.size > 0;
  }

  /** Taken before a reserve is sent, handed back to learn() with its reply. */
  basis(sku: string): number {
    return this.known.get(parseBucketSku(sku).sku)?.epoch ?? 0;
  }

  /** lua/line_join.lua refused a join of the SKU SOLD_OUT: its line's joins are answered from here from the next read on. */
  learnJoin(sku: string): void {
    const now = boardNow();
    const k = this.known.get(sku);
    if (k) k.lastAsked = now;
    else this.startWatching(sku, now);
  }

  /**
   * The script refused `request` INSUFFICIENT_STOCK; `basis` as taken before it was sent. A
   * bucket's refusal (of a split SKU) starts the watch of the whole SKU, all its buckets together.
   */
  learn(request: SoldOutQuestion, basis: number): void {
    const line = SoldOutWatch.soleLine(request);
    if (!line) return;
    const now = boardNow();
    const sku = parseBucketSku(line.sku).sku;
    const k = this.known.get(sku);
    if (!k) {
      this.startWatching(sku, now);
      return;
    }
    k.lastAsked = now;
    // Sent after the post this state was squared with, and answered under it: the user was below the limit by `qty`.
    if (k.limit !== null && k.epoch === basis && basis !== 0 && k.users.size < MAX_USERS) k.users.set(request.userId, Math.max(line.qty, k.users.get(request.userId) ?? 0));
  }

  /**
   * Units of these SKUs (or buckets) may have come back through this process, or a reserve here
   * took some (a refusal from the last post would name units no longer there): answered by Redis
   * until a read sent from now on.
   */
  forget(skus: Iterable<string>): void {
    for (const name of skus) {
      const k = this.known.get(parseBucketSku(name).sku);
      if (k) this.void(k);
    }
  }

  /** Every SKU with a bucket in a partition: something of it ended there and what it gave back is not known. */
  forgetPartition(partition: number): void {
    for (const k of this.known.values()) if (k.partitions.includes(partition)) this.void(k);
  }

  /** Starts answering from the board, its reads made by `reader` (default: on this thread). */
  watch(reader: SoldOutReader = new SoldOutReads(this.store, this.board)): void {
    this.reader ??= reader;
    this.idleTimer ??= setInterval(() => this.dropIdle(), IDLE_MS / 2).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    for (const k of this.known.values()) this.board.renew(k.slot);
    this.known.clear();
    await this.reader?.stop();
  }

  private startWatching(sku: string, now: number): void {
    const slot = this.reader && this.freeSlots.pop();
    if (slot === undefined) return;
    // Whatever the slot's last SKU had posted, or a read of it on its way, is void.
    this.board.renew(slot);
    const buckets = this.routes.bucketsOf(sku);
    const partitions = bucketSkus(sku, buckets).map((name) => this.store.keys.partitionOfSku(name));
    this.known.set(sku, { sku, buckets, partitions, slot, version: -1, shardEpoch: 0, limit: null, available: 0, lined: false, users: new Map(), epoch: 0, lastAsked: now, refusals: new Map(), readingHolders: false });
    this.reader!.watch(slot, sku, buckets);
  }

  /**
   * What the board posts for the SKU now, squared with what this process knew: another state of
   * the SKU (version, epoch, limit) voids what it learnt of its users, other units the refusals
   * built. False when nothing valid is posted.
   */
  private squared(k: Knowledge, now: number): boolean {
    const seen = this.board.read(k.slot, now);
    if (!seen) return false;
    if (seen.version !== k.version || seen.shardEpoch !== k.shardEpoch || seen.limit !== k.limit) {
      k.version = seen.version;
      k.shardEpoch = seen.shardEpoch;
      k.limit = seen.limit;
      k.epoch = ++this.epochs;
      k.users.clear();
    }
    k.lined = seen.lined;
    if (seen.available !== k.available) {
      k.available = seen.available;
      k.refusals.clear();
      k.joinRefusal = undefined;
    }
    return true;
  }

  /** Reads the line's ticket holders in the background (one read at a time per SKU); joins go to Redis meanwhile. */
  private readHolders(k: Knowledge): void {
    if (k.readingHolders) return;
    k.readingHolders = true;
    readTicketHolders(this.store, k.sku)
      .then((holders) => {
        k.holders = holders;
      })
      .catch(() => {})
      .finally(() => {
        k.readingHolders = false;
      });
  }

  /** What was posted for the SKU is void, and what this process learnt of its users. */
  private void(k: Knowledge): void {
    this.board.renew(k.slot);
    k.version = -1;
    k.epoch = 0;
    k.users.clear();
  }

  private dropIdle(): void {
    const now = boardNow();
    for (const k of this.known.values()) if (now - k.lastAsked > IDLE_MS) this.drop(k);
  }

  /** The SKU is no longer watched: its slot is void and free. */
  private drop(k: Knowledge): void {
    this.known.delete(k.sku);
    this.board.renew(k.slot);
    this.reader?.unwatch(k.slot);
    this.freeSlots.push(k.slot);
  }
}

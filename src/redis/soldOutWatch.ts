import { performance } from 'node:perf_hooks';
import type { DomainError } from '../domain/errors';
import { insufficientStock } from '../domain/refusals';
import type { RequestedLine } from '../domain/reservation';
import { allPartitions } from './partitions';
import type { RedisStore } from './redisStore';
import { soldOutCheckCall } from './scriptCalls';

/**
 * The longest a SKU is answered sold out after the read that last saw it so: a unit that comes
 * back later is offered within this bound, whoever returned it (docs/architecture.md#sold-out-answers).
 */
export const SOLD_OUT_BOUND_MS = 100;

/** How often the watch reads what it believes sold out: several reads per bound, so one slow read does not lapse it. */
export const SOLD_OUT_WATCH_MS = 25;

/** A SKU nobody asked for this long is no longer watched. */
const IDLE_MS = 2_000;

/** Users remembered per SKU under a per-user limit; later ones go to Redis. */
const MAX_USERS = 10_000;

/** What this process knows of one SKU it found sold out. */
interface Knowledge {
  sku: string;
  partition: number;
  /** Set by the first read that found it sold out; until then nothing is answered from it. */
  confirmed: boolean;
  /** Units available at the last read: only a request for more is refused (its 409 says how many). */
  available: number;
  /** performance.now() until which it may be answered from: the bound, an expiry or the sale's end, whichever comes first. */
  validUntil: number;
  version: number;
  limit: number | null;
  /**
   * Under a per-user limit the script answers PURCHASE_LIMIT_EXCEEDED first for a user who would
   * pass it: only users the script refused INSUFFICIENT_STOCK since the SKU last changed are
   * answered, for at most the units they were refused (they held and bought no more since).
   */
  users: Map<string, number>;
  /** Unique per state of the SKU: a reply to a request sent under another is not learnt from. */
  epoch: number;
  lastAsked: number;
  /** The refusal per units asked, built once while `available` holds. */
  refusals: Map<number, DomainError>;
}

/** A reserve as this watch looks at it; `keyed` when it carries an Idempotency-Key. */
export interface SoldOutQuestion {
  userId: string;
  lines: readonly RequestedLine[];
  allowPartial: boolean;
  keyed: boolean;
}

/** The state sold_out_check.lua reads of a SKU: {} when missing, else eight strings ("" for none). */
type CheckedState = [] | [string, string, string, string, string, string, string, string];

/**
 * How long after the read (`redisNow`, Redis time) a SKU it found with `state` may be answered as
 * having at most `known` units, or null when it may not: it is gone, lined or located (those
 * reserves go to Redis), a unit came back, a hold's time ran out (the next reserve sweeps it) or
 * the sale is not open.
 */
export function soldOutFor(state: CheckedState, known: number, redisNow: number): { available: number; version: number; limit: number | null; forMs: number } | null {
  if (state.length === 0) return null;
  const [availableText, versionText, limitText, startsAtText, endsAtText, lined, located, earliestText] = state;
  const available = Math.max(0, Number(availableText));
  if (lined || located || available > known) return null;
  if (startsAtText && redisNow < Number(startsAtText)) return null;
  let forMs = SOLD_OUT_BOUND_MS;
  for (const until of [endsAtText, earliestText]) if (until) forMs = Math.min(forMs, Number(until) - redisNow);
  if (forMs <= 0) return null;
  return { available, version: Number(versionText), limit: limitText ? Number(limitText) : null, forMs };
}

/**
 * "Refusals cost nothing": a reserve of a SKU this process saw sold out is refused without a round
 * trip, with the 409 the script would give, while nothing can have come back. Knowledge starts from
 * a reserve the script refused INSUFFICIENT_STOCK, is confirmed and kept fresh by a watch that reads
 * every such SKU (one script call per partition) every SOLD_OUT_WATCH_MS, and lapses
 * SOLD_OUT_BOUND_MS after its last confirming read. What this process does that may return units
 * forgets it at once (forget()); what others do is seen by the next read.
 */
export class SoldOutWatch {
  private readonly known = new Map<string, Knowledge>();
  private epochs = 0;
  /** Reserves refused here without a round trip, since the start. */
  refusedHere = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly store: RedisStore) {}

  /** The one line of a reserve that may be answered from here: one line naming no location, no Idempotency-Key (a key replays its first answer). */
  static soleLine({ lines, keyed }: SoldOutQuestion): RequestedLine | undefined {
    return lines.length === 1 && lines[0].location === undefined && !keyed ? lines[0] : undefined;
  }

  /** The refusal the script would answer `request` with, when it can be told from here; else undefined. */
  refusal(request: SoldOutQuestion): DomainError | undefined {
    const line = SoldOutWatch.soleLine(request);
    const k = line && this.known.get(line.sku);
    if (!k?.confirmed) return undefined;
    const now = performance.now();
    if (now >= k.validUntil) return undefined;
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

  /** Taken before a reserve is sent, handed back to learn() with its reply. */
  basis(sku: string): number {
    return this.known.get(sku)?.epoch ?? 0;
  }

  /** The script refused `request` INSUFFICIENT_STOCK with `available` units; `basis` as taken before it was sent. */
  learn(request: SoldOutQuestion, available: number, basis: number): void {
    const line = SoldOutWatch.soleLine(request);
    if (!line) return;
    const now = performance.now();
    let k = this.known.get(line.sku);
    if (!k) {
      k = { sku: line.sku, partition: this.store.keys.partitionOfSku(line.sku), confirmed: false, available: Math.max(0, available), validUntil: 0, version: 0, limit: null, users: new Map(), epoch: 0, lastAsked: now, refusals: new Map() };
      this.known.set(line.sku, k);
      return;
    }
    k.lastAsked = now;
    // Sent after the read that confirmed this state and answered under it: the user was below the limit by `qty`.
    if (k.limit !== null && k.epoch === basis && basis !== 0 && k.users.size < MAX_USERS) k.users.set(request.userId, Math.max(line.qty, k.users.get(request.userId) ?? 0));
  }

  /** Units of these SKUs may have come back through this process: answered by Redis from now on. */
  forget(skus: Iterable<string>): void {
    for (const sku of skus) this.known.delete(sku);
  }

  /** Every SKU of a partition: something of it ended there and what it gave back is not known. */
  forgetPartition(partition: number): void {
    for (const k of this.known.values()) if (k.partition === partition) this.known.delete(k.sku);
  }

  watch(intervalMs = SOLD_OUT_WATCH_MS): void {
    this.timer ??= setInterval(() => {
      // A round still running (Redis slow) is not doubled: its knowledge lapses by itself meanwhile.
      this.running ??= this.check().finally(() => (this.running = undefined));
    }, intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    this.known.clear();
  }

  /** One round: every watched SKU read, one script call per partition; idle ones dropped. */
  async check(): Promise<void> {
    const now = performance.now();
    const byPartition = allPartitions(this.store.keys.partitions).map((): Knowledge[] => []);
    for (const k of this.known.values()) {
      if (now - k.lastAsked > IDLE_MS) this.known.delete(k.sku);
      else byPartition[k.partition].push(k);
    }
    await Promise.all(byPartition.filter((ks) => ks.length > 0).map((ks) => this.checkPartition(ks).catch(() => {})));
  }

  private async checkPartition(ks: Knowledge[]): Promise<void> {
    const sentAt = performance.now();
    const [nowText, ...states] = await this.store.run<[string, ...CheckedState[]]>(soldOutCheckCall(this.store, ks.map((k) => k.sku)));
    const redisNow = Number(nowText);
    ks.forEach((k, n) => {
      // Forgotten while the read was on its way: what it saw may predate the change.
      if (this.known.get(k.sku) !== k) return;
      const seen = soldOutFor(states[n], k.available, redisNow);
      if (!seen) {
        this.known.delete(k.sku);
        return;
      }
      if (!k.confirmed || seen.version !== k.version || seen.limit !== k.limit) {
        k.confirmed = true;
        k.version = seen.version;
        k.limit = seen.limit;
        k.epoch = ++this.epochs;
        k.users.clear();
      }
      if (seen.available !== k.available) {
        k.available = seen.available;
        k.refusals.clear();
      }
      k.validUntil = sentAt + seen.forMs;
    });
  }
}

import { allPartitions } from './partitions';
import type { RedisStore } from './redisStore';
import { type PostedState, type SoldOutBoard, boardNow } from './soldOutBoard';
import { soldOutCheckCall } from './scriptCalls';

/**
 * The longest a SKU is answered sold out after the read that last saw it so: a unit that comes
 * back later is offered within this bound, whoever returned it (docs/architecture.md#sold-out-answers).
 */
export const SOLD_OUT_BOUND_MS = 100;

/** How often the watched SKUs are read: several reads per bound, so one slow read does not lapse them. */
export const SOLD_OUT_WATCH_MS = 25;

/** The state sold_out_check.lua reads of a SKU: {} when missing, else eleven strings ("" for none). */
export type CheckedState = [] | [string, string, string, string, string, string, string, string, string, string, string];

/**
 * What a read sent at `sentAt` (boardNow) that found a SKU in `state` at `redisNow` (Redis time)
 * allows, or null when the SKU may not be answered from here: it is gone, located or split into
 * buckets (those go to Redis), or the sale is not open. The bound counts from the sending: the read ran at Redis after it.
 *
 * A SKU without a line posts its available units, while no hold's time ran out (the next reserve
 * sweeps it). A lined SKU posts its unsold units (total - sold), what its joins are refused
 * SOLD_OUT against: only an operator's change raises them, so holds and their expiry do not matter,
 * and from the lobby's opening on (before it, a join is refused SALE_NOT_ACTIVE).
 */
export function soldOutFor(state: CheckedState, redisNow: number, sentAt: number): PostedState | null {
  if (state.length === 0) return null;
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
  watch(slot: number, sku: string, partition: number): void;
  unwatch(slot: number): void;
  stop(): Promise<void>;
}

/**
 * Reads every watched SKU every SOLD_OUT_WATCH_MS (one script call per partition) and posts what
 * it found on the board, each under the generation its slot had when the read was sent.
 */
export class SoldOutReads implements SoldOutReader {
  private readonly watched = new Map<number, { sku: string; partition: number }>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly store: RedisStore,
    private readonly board: SoldOutBoard,
  ) {}

  watch(slot: number, sku: string, partition: number): void {
    this.watched.set(slot, { sku, partition });
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
    const byPartition = allPartitions(this.store.keys.partitions).map((): { slot: number; sku: string }[] => []);
    for (const [slot, { sku, partition }] of this.watched) byPartition[partition].push({ slot, sku });
    await Promise.all(byPartition.filter((slots) => slots.length > 0).map((slots) => this.checkPartition(slots).catch(() => {})));
  }

  private async checkPartition(slots: { slot: number; sku: string }[]): Promise<void> {
    const generations = slots.map(({ slot }) => this.board.generation(slot));
    const sentAt = boardNow();
    const [nowText, ...states] = await this.store.run<[string, ...CheckedState[]]>(soldOutCheckCall(this.store, slots.map(({ sku }) => sku)));
    const redisNow = Number(nowText);
    slots.forEach(({ slot }, n) => this.board.post(slot, generations[n], soldOutFor(states[n], redisNow, sentAt)));
  }
}

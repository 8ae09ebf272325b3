import type { ChangeMark } from '../domain/changeMark';
import { DomainError } from '../domain/errors';
import { parseBucketSku } from '../domain/buckets';
import { lineBucketHolds, locationRequired, skuNotFound } from '../domain/refusals';
import { MAX_TOTAL, type SkuSettings, type SkuView } from '../domain/sku';
import { BucketChangedError } from './bucketMoveScripts';
import { IN_DOUBT } from './inDoubt';
import { type OutboxEntry, parseEntry } from './outboxEntry';
import type { RedisStore } from './redisStore';
import { ReplyCode, refusal } from './replyCodes';
import { adjustStockCall, setStockCall } from './scriptCalls';
import { type LocationCounterRow, defaultLevel, levelsOfRows } from './stockHash';
import type { StockReads } from './stockReads';

type Reply = (string | number)[];

/** The admin's changes to stock: set a SKU (PUT) and adjust its units. */
export class AdminOperations {
  constructor(
    private readonly store: RedisStore,
    private readonly reads: StockReads,
  ) {}

  /**
   * Creates or updates a SKU; `created` tells which, and `entry` is the outbox entry it wrote. A SKU Postgres knows must not be created
   * anew (its SET movement would count its total twice): with `mayCreate: false`, a SKU Redis
   * lacks is refused with SKU_NOT_FOUND, to be restored first. `holdsNothing`: a bucket that must
   * hold no units to take these settings (src/services/splitSkuWrites.ts, writeLinedSplitSku).
   */
  async setStock(
    sku: string,
    settings: SkuSettings,
    actor: string,
    { mayCreate = true, holdsNothing = false, expectedTotalChanges }: { mayCreate?: boolean; holdsNothing?: boolean; expectedTotalChanges?: number } = {},
  ): Promise<{ created: boolean; view: SkuView; mark: ChangeMark; entry: OutboxEntry }> {
    const partition = this.store.keys.partitionOfSku(sku);
    this.store.assertServing(partition);
    const reply = await this.store.run<Reply>(setStockCall(this.store, sku, settings, actor, mayCreate, holdsNothing, expectedTotalChanges), { consequence: IN_DOUBT.admin });
    if (reply[0] === ReplyCode.BucketHolds) throw lineBucketHolds(parseBucketSku(sku).sku, Number(reply[1]));
    if (reply[0] === ReplyCode.BucketChanged) throw new BucketChangedError(sku);
    if (reply[0] === ReplyCode.SkuNotFound) {
      await this.store.confirmNotFound(partition);
      throw skuNotFound(sku);
    }
    if (reply[0] === ReplyCode.TotalBelowCommitted) {
      const [, reserved, sold, location] = reply;
      const requestedTotal = location === undefined ? settings.total : settings.locations?.find((level) => level.location === location)?.total;
      throw refusal(ReplyCode.TotalBelowCommitted, { ...(location === undefined ? {} : { location }), requestedTotal, reserved, sold });
    }
    const [code, total, available, reserved, sold, version, epoch, entryId, entryText, rows] = reply as [number, number, number, number, number, number, number, string, string, LocationCounterRow[] | null];
    const { perUserLimit, startsAt, endsAt } = settings;
    const counters = { total, available, reserved, sold };
    const locations = rows ? levelsOfRows(rows) : [defaultLevel(counters)];
    // The line's counts move with admissions the script may have made: read as they now stand.
    const line = settings.line ? ((await this.reads.getSku(sku))?.line ?? null) : null;
    const entry = parseEntry(entryId, entryText, partition);
    return { created: code === 1, view: { sku, ...counters, perUserLimit, startsAt, endsAt, locations, line, ...((settings.buckets ?? 1) > 1 ? { buckets: settings.buckets } : {}) }, mark: { epoch, version }, entry };
  }

  /** Adds (or removes) units; `location` names one of a SKU's active locations (required when it has several). */
  async adjustStock(sku: string, delta: number, reason: string, actor: string, location?: string): Promise<SkuView> {
    const partition = this.store.keys.partitionOfSku(sku);
    this.store.assertServing(partition);
    const reply = await this.store.run<Reply>(adjustStockCall(this.store, sku, delta, reason, actor, location), { consequence: IN_DOUBT.admin });
    if (reply[0] === ReplyCode.InsufficientStock) {
      throw refusal(ReplyCode.InsufficientStock, { sku, ...(location === undefined ? {} : { location }), delta, available: reply[1] });
    }
    if (reply[0] === ReplyCode.LocationRequired) {
      throw locationRequired(sku, String(reply[1]).split(','));
    }
    if (reply[0] === ReplyCode.TotalTooLarge) {
      throw new DomainError('VALIDATION_FAILED', `total may not exceed ${MAX_TOTAL}.`, { sku, delta, total: reply[1] });
    }
    if (reply[0] === ReplyCode.SkuNotFound) await this.store.confirmNotFound(partition);
    if (reply[0] !== ReplyCode.Ok) throw refusal(reply[0] as ReplyCode, { sku, location });
    const view = await this.reads.getSku(sku);
    if (!view) throw skuNotFound(sku);
    return view;
  }
}

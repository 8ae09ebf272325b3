import type { ChangeMark } from '../domain/changeMark';
import type { Allocation } from '../domain/reservation';
import type { LocationLevel } from '../domain/sku';
import { type LocationTotals, encodeLevels, skuViewOf } from './stockHash';
import type { IdempotencyBinding } from './idempotencyBinding';
import { encodeBinding } from './idempotencyBinding';
import { BucketMoveScripts } from './bucketMoveScripts';
import { allPartitions } from './partitions';
import { Lease } from './lease';
import { Outbox } from './outbox';
import type { RedisStore } from './redisStore';
import { SpanningReservations } from './spanning';
import { ReplyCode } from './replyCodes';
import { type RestoreGuard, restoreGuard } from './restoreGuard';
import { repairLineCall, repairStockCall, restoreRecordCall, restoreSkuCall, startEpochCall, sweepExpiredCall } from './scriptCalls';
import { type ReservationRecord, encodeReservationRecord } from './reservationRecord';

/** Where a SKU's counters stand: its change counter and the shard epoch of its last change (the stock hash's `epoch`). */
export interface StockCounters extends ChangeMark {
  total: number;
  available: number;
  reserved: number;
  sold: number;
  /** Every location's counters ("default" alone on a SKU without locations). */
  locations: LocationLevel[];
  /** Changes of its total by a move in or out (lua/bucket_move_out.lua, bucket_move_in.lua) or a write (lua/set_stock.lua): a split SKU's write names it. */
  totalChanges: number;
  /** Whether the SKU was given locations (its counters then live per location too). */
  located: boolean;
  /** Tickets waiting in the SKU's line, and tickets it admitted (0 for a SKU that never had a line). */
  lineWaiting: number;
  lineAdmitted: number;
}

export interface SkuRestore {
  sku: string;
  total: number;
  sold: number;
  perUserLimit: number | null;
  startsAtMs: number | null;
  endsAtMs: number | null;
  version: number;
  /** Total and sold per location, on a SKU with locations; null without. */
  levels: LocationTotals[] | null;
  /** One per reservation holding the SKU; units as a units text (holdUnits.ts). */
  holds: { reservationId: string; userId: string; units: string; expiresAtMs: number }[];
  /** userId -> units held or bought of this SKU. */
  buyerUnits: [string, number][];
  /** The waiting line's settings; null for a SKU without a line. */
  line: { holdTtlMs: number; lobbyMs: number } | null;
  /** Buckets the SKU's units are split into (1: none). */
  buckets: number;
  /** [id, ticket text] of each of the SKU's tickets, in order of joining, at its place (src/reconciler/lineRestore.ts). */
  tickets: [string, string][];
  /** [userId, ticket id] of the users held to a ticket of the line (one ticket per user). */
  lineUsers: [string, string][];
  /** Gone members [member, place] standing for units of tickets Postgres never learned of. */
  lineGaps: [string, number][];
}

const recordLine = (line: ReservationRestore['lines'][number]): ReservationRecord['lines'][number] => [line.sku, line.qty, line.reserved, line.allocations];

export interface ReservationRestore {
  id: string;
  userId: string;
  orderId: string | null;
  createdAtMs: number;
  expiresAtMs: number;
  lines: { sku: string; qty: number; reserved: number; allocations: Allocation[] | null }[];
}

/**
 * What the reconciler and the cold start do to Redis: sweep expired holds, read and repair
 * counters, restore what Redis lost, and drain the outbox (`outbox`).
 */
/** How long a SKU's write lease lasts unless renewed: a write whose engine died holds it no longer. */
const SKU_WRITE_LEASE_MS = 15_000;

export class StockMaintenance {
  readonly outbox: Outbox;
  /** The steps of moving units between buckets (src/reconciler/bucketMoves.ts runs them). */
  readonly bucketMoves: BucketMoveScripts;
  private readonly spanning: SpanningReservations;

  constructor(private readonly store: RedisStore) {
    this.outbox = new Outbox(store);
    this.bucketMoves = new BucketMoveScripts(store);
    this.spanning = new SpanningReservations(store);
  }

  /**
   * Ends spanning reservations whose expiry passed, and finishes in every partition what a crash
   * left half-done (see spanning.ts). Returns how many entries were settled.
   */
  settleSpanning(): Promise<number> {
    return this.spanning.settleDue();
  }

  /**
   * The lease a write of this SKU's settings holds (src/services/putSku.ts): writes of one SKU, from
   * any engine, run one after another, so a split SKU's buckets never end as a mix of two writes and
   * a PATCH never writes over a change made since its read.
   */
  writeLease(sku: string): Lease {
    return new Lease(this.store, this.store.keys.skuWriteLease(sku), SKU_WRITE_LEASE_MS);
  }

  /** Returns the units of up to `limit` expired holds of one SKU and re-files it in the due index. */
  async sweepSku(sku: string, limit: number): Promise<{ holds: number; units: number; nextExpiryMs: number | null }> {
    const [holds, units, nextExpiryMs] = await this.store.run<number[]>(sweepExpiredCall(this.store, sku, limit));
    return { holds, units, nextExpiryMs: nextExpiryMs < 0 ? null : nextExpiryMs };
  }

  /** Every partition number. */
  get partitions(): number[] {
    return allPartitions(this.store.keys.partitions);
  }

  /** A partition's SKUs holding at least one hold whose expiry is at or before `beforeMs`, earliest first. */
  dueSkus(partition: number, beforeMs: number, limit: number): Promise<string[]> {
    return this.store.call((client) => client.zrangebyscore(this.store.keys.sweepDue(partition), '-inf', beforeMs, 'LIMIT', 0, limit));
  }

  /** Raw counters and change version of several SKUs in one round trip; null where missing. */
  async readCounters(skus: readonly string[]): Promise<(StockCounters | null)[]> {
    const hashes = await this.store.readWholeHashes(skus.map((sku) => this.store.keys.stock(sku)));
    return hashes.map((hash, n) => {
      const view = skuViewOf(skus[n], hash);
      if (!view) return null;
      const { total, available, reserved, sold, locations } = view;
      return {
        total,
        available,
        reserved,
        sold,
        version: Number(hash.version ?? 0),
        epoch: Number(hash.epoch ?? 0),
        totalChanges: Number(hash.totalChanges ?? 0),
        locations,
        located: hash.locations !== undefined,
        lineWaiting: Number(hash.lineWaiting ?? 0),
        lineAdmitted: Number(hash.lineAdmitted ?? 0),
      };
    });
  }

  /**
   * Rebuilds a SKU's Redis counters from the facts (total and sold from Postgres, reserved from the
   * expiry index), unless the SKU changed since `expectedVersion` was read. Answers the repaired
   * counters, or 'overtaken' when a change came before they could be read (the repair stands; the
   * drain brings its counters to Postgres, lua/repair_stock.lua).
   */
  async repairStock(
    sku: string,
    expectedVersion: number,
    facts: { total: number; sold: number; levels: LocationTotals[] | null },
  ): Promise<StockCounters | 'changed' | 'inconsistent' | 'missing' | 'overtaken'> {
    const levels = facts.levels ? encodeLevels(facts.levels) : '';
    const reply = await this.store.run<number[]>(repairStockCall(this.store, sku, expectedVersion, facts.total, facts.sold, levels));
    if (reply[0] === ReplyCode.VersionChanged) return 'changed';
    if (reply[0] === ReplyCode.FactsInconsistent) return 'inconsistent';
    if (reply[0] === ReplyCode.SkuNotFound) return 'missing';
    const [counters] = await this.readCounters([sku]);
    // Changed again before it was read: those counters hold a change Postgres has not seen yet.
    if (counters && counters.version !== reply[5]) return 'overtaken';
    return counters ?? 'missing';
  }

  /**
   * Rebuilds a SKU's line counters: waiting tickets counted in its line, `admitted` from the facts;
   * unless the SKU changed since `expectedVersion` was read. Answers the counters written.
   */
  async repairLine(sku: string, expectedVersion: number, admitted: number): Promise<{ lineWaiting: number; lineAdmitted: number } | 'changed' | 'missing'> {
    const reply = await this.store.run<number[]>(repairLineCall(this.store, sku, expectedVersion, admitted));
    if (reply[0] === ReplyCode.VersionChanged) return 'changed';
    if (reply[0] === ReplyCode.SkuNotFound) return 'missing';
    return { lineWaiting: reply[1], lineAdmitted: reply[2] };
  }

  /**
   * Cold start: recreates a SKU Redis lost, its line too (then served: admission goes on).
   * 'present' when Redis still had it (left untouched); 'lost' when the restore's guard is gone
   * (restoreGuard.ts): nothing written.
   */
  async restoreSku(snapshot: SkuRestore, guard: RestoreGuard): Promise<'restored' | 'present' | 'lost'> {
    const [restored] = await this.store.run<number[]>(restoreSkuCall(this.store, snapshot, guard));
    return restored === 1 ? 'restored' : restored === 0 ? 'present' : 'lost';
  }

  /**
   * Cold start of a pending reservation's records: its home record and, for one spanning
   * partitions, its part in each other partition and the spanning entries that let the reconciler
   * end it as one (each left as it is where present). False when a guard is gone (restoreGuard.ts).
   */
  async restoreReservation(record: ReservationRestore, guard: RestoreGuard): Promise<boolean> {
    const { keys } = this.store;
    const home = keys.partitionOfReservation(record.id);
    const expireAt = record.expiresAtMs + this.store.tuning.recordRetentionSeconds * 1000;
    const parts = new Map<number, ReservationRestore['lines']>([[home, record.lines]]);
    for (const line of record.lines) {
      const partition = keys.partitionOfSku(line.sku);
      if (partition !== home) parts.set(partition, [...(parts.get(partition) ?? []), line]);
    }
    const spans = parts.size > 1;
    for (const [partition, lines] of parts) {
      const raw = encodeReservationRecord({ ...this.pendingRecord(record), lines: lines.map(recordLine) });
      const recordKey = partition === home ? keys.reservation(record.id) : keys.reservationPart(record.id, partition);
      // The home's entry comes due with the hold; the parts' a second later, after the home ended it.
      const spanningScore = !spans ? null : partition === home ? record.expiresAtMs : record.expiresAtMs + 1000;
      const call = restoreRecordCall(keys, { guard: guard(partition), recordKey, raw, expireAt, partition, spanningScore, id: record.id });
      if ((await this.store.run<number>(call)) !== 1) return false;
    }
    return true;
  }

  /** The guard of a restore rebuilding the partitions of `tokens` (their rebuild tokens); of one restoring SKUs lost alone without. */
  restoreGuard(tokens?: ReadonlyMap<number, string>): RestoreGuard {
    return restoreGuard(this.store.keys, tokens);
  }

  private pendingRecord(record: ReservationRestore) {
    return { status: 'PENDING' as const, createdAtMs: record.createdAtMs, expiresAtMs: record.expiresAtMs, finishedAt: '', userId: record.userId, orderId: record.orderId };
  }

  /**
   * Cold start: restores Idempotency-Key bindings (left as they are where present), each to
   * expire when it would have.
   */
  async restoreBindings(bindings: { userId: string; binding: IdempotencyBinding; expiresAtMs: number }[]): Promise<void> {
    const { keys } = this.store;
    const byKey = new Map(bindings.map((item) => [keys.idempotency(item.userId, item.binding.keyHash), item]));
    await this.store.pipelined([...byKey.keys()], (pipeline, key) => {
      const { binding, expiresAtMs } = byKey.get(key)!;
      pipeline.set(key, encodeBinding(binding), 'PXAT', expiresAtMs, 'NX');
    });
  }

  /** How long Redis keeps an Idempotency-Key binding. */
  get idempotencyTtlMs(): number {
    return this.store.tuning.idempotencyTtlSeconds * 1000;
  }

  redisTimeMs(): Promise<number> {
    return this.store.timeMs();
  }

  hasDataMarker(partition: number): Promise<boolean> {
    return this.store.hasDataMarker(partition);
  }

  /**
   * Records the partition count in Redis, or checks it against the one recorded: engines laying
   * out the same data in different partitions would not find each other's keys.
   */
  async adoptPartitionCount(): Promise<void> {
    const { keys } = this.store;
    const recorded = await this.store.call(async (client) => {
      await client.set(keys.partitionCount(), keys.partitions, 'NX');
      return Number(await client.get(keys.partitionCount()));
    });
    if (recorded !== keys.partitions) {
      throw new Error(
        `Redis holds this engine's data in ${recorded} partitions but REDIS_PARTITIONS is ${keys.partitions}: ` +
          `start with REDIS_PARTITIONS=${recorded}, or empty Redis and let the engine rebuild it from Postgres in the new layout`,
      );
    }
  }

  /**
   * Begins a new shard epoch of the partition (lua/start_epoch.lua): for a 'rebuild' always; to
   * 'ensure' one only when the master serving it is not the one its epoch began on (a failover),
   * or none began. Answers the epoch and whether this call began it.
   */
  async startEpoch(partition: number, mode: 'ensure' | 'rebuild'): Promise<{ begun: boolean; epoch: number; replid: string }> {
    const [begun, epoch, replid] = await this.store.run<[number, number, string]>(startEpochCall(this.store, partition, mode));
    return { begun: begun === 1, epoch, replid };
  }

  /** Begins a rebuild of a partition, before Postgres is read: its token (RedisStore.beginRebuild). */
  beginRebuild(partition: number): Promise<string> {
    return this.store.beginRebuild(partition);
  }

  /**
   * Ends a rebuild: marks the partition as holding the engine's data again, and serves it; false
   * when Redis lost the data again while it was rebuilt (it stays lost, to be rebuilt again).
   */
  async finishRebuild(partition: number, token: string): Promise<boolean> {
    if (!(await this.store.finishRebuild(partition, token))) return false;
    this.store.lostPartitions.delete(partition);
    return true;
  }

  /** Stops serving a partition until it is rebuilt (its data marker is gone). */
  markLost(partition: number): void {
    this.store.lostPartitions.add(partition);
  }

  /** Serves a partition again: its data marker is back (this engine or another rebuilt it). */
  markServing(partition: number): void {
    this.store.lostPartitions.delete(partition);
  }

  /** Partitions this engine answers 503 for, waiting for their rebuild. */
  markedLost(): number[] {
    return [...this.store.lostPartitions];
  }

  /** The partition of a SKU, of a user, and a reservation's home. */
  partitionOfSku(sku: string): number {
    return this.store.keys.partitionOfSku(sku);
  }

  partitionOfUser(userId: string): number {
    return this.store.keys.partitionOfUser(userId);
  }

  partitionOfReservation(id: string): number {
    return this.store.keys.partitionOfReservation(id);
  }
}

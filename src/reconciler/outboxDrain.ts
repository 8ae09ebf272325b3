import os from 'node:os';
import { UnavailableError } from '../domain/errors';
import type { Database } from '../db/client';
import type { Outbox, RawOutboxEntry } from '../redis/outbox';
import { type OutboxEntry, parseEntry } from '../redis/outboxEntry';
import { upsertBucketMoves } from '../db/bucketMoveRepository';
import { insertMovements } from '../db/skuRepository';
import { applyEntries } from './applyEntries';
import { EpochChangedError, LeaseLostError, assertSameEpoch } from './drainFence';
import { planWrites } from './writePlan';

export interface DrainResult {
  /** Events written to Postgres (an entry holds the events of one script call). */
  written: number;
  /** Entries Postgres refused as data, moved to the dead-letter stream. */
  deadLettered: number;
  /**
   * Partitions whose drain stopped because they began a new shard epoch after their entries were
   * read (drainFence.ts): nothing of those entries was written; the next pass drains them.
   */
  epochChanged: number[];
}

export interface DrainOptions {
  /** Stream entries per Postgres transaction (an entry holds the events of one script call, up to 128). */
  batchSize?: number;
  /** Stop after this long even if more is waiting (the next pass goes on). */
  timeBudgetMs?: number;
  consumer?: string;
  /** Called after each batch is committed, with its entries (metrics). */
  onBatch?: (entries: OutboxEntry[]) => void;
  /** Whether the pass still holds the reconciler lease, asked by each batch under its partition's writer lock (applyEntries.ts). */
  leaseHeld?: () => Promise<boolean>;
}

/**
 * Postgres refused the data itself (SQLSTATE class 22 data exception, 23 constraint violation):
 * retrying cannot help, unlike a lost connection.
 */
function isDataError(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && /^2[23][0-9A-Z]{3}$/.test(e.code)) return true;
  }
  return false;
}

/** A batch's failure other than Postgres refusing its data: the fence's stay themselves, any other is Postgres unreachable. */
const failed = (error: unknown) => (error instanceof EpochChangedError || error instanceof LeaseLostError ? error : new UnavailableError('Postgres', error));

/**
 * Moves outbox events into Postgres: reads with a consumer group, writes each batch in one
 * transaction of idempotent statements, acknowledges only after that transaction committed, then
 * trims the stream below the oldest entry not yet acknowledged. Entries a crashed pass left
 * pending are claimed first (passes never overlap: the reconciler lease guarantees it).
 * An entry Postgres refuses as data would block every entry behind it forever: a batch refused
 * that way is retried entry by entry, and the entries refused alone are moved, with the error, to
 * the dead-letter stream for an operator, then acknowledged.
 */
export async function drainOutbox(outbox: Outbox, db: Database, options: DrainOptions = {}): Promise<DrainResult> {
  const batchSize = options.batchSize ?? 100;
  const consumer = options.consumer ?? `${os.hostname()}-${process.pid}`;
  const deadline = Date.now() + (options.timeBudgetMs ?? 30_000);
  const result: DrainResult = { written: 0, deadLettered: 0, epochChanged: [] };
  /** One partition's stream, until it is empty or the time budget is spent. */
  async function drainPartition(partition: number): Promise<void> {
    // Read before any entry: a batch is written only if the data it came from is still Redis's.
    const epochRead = await outbox.epochOf(partition);
    const fence = (tx: Parameters<typeof assertSameEpoch>[0]) => assertSameEpoch(tx, partition, epochRead, () => outbox.epochOf(partition));
    // A batch is one transaction, acknowledged once it committed: refused as data, nothing of it
    // lands, and its entries are retried one by one, each again one transaction.
    const write = (entries: OutboxEntry[]) => applyEntries(db, { partition, epoch: epochRead, entries }, { fence, leaseHeld: options.leaseHeld });
    await outbox.ensureGroup(partition);
    const acknowledge = async (entries: OutboxEntry[]) => {
      await outbox.acknowledge(partition, entries.map((entry) => entry.entryId));
      for (const entry of entries) result.written += entry.events.length;
      options.onBatch?.(entries);
    };
    /**
     * The move in an entry about to be dead-lettered records did arrive: Redis ran it, and the
     * entry, read in this epoch, is its record. Postgres is told so, with the entry's movements
     * (the MOVE, and the ADJUST of a location the target retired), so that the facts a rebuild or
     * a repair adds up hold the units Redis holds. Else the reconciler would see the move as never
     * arrived and give its units a second time once the arrival marker expires (bucketMoves.ts).
     * Refused as data too, they are left as they were.
     */
    const recordArrivals = async (entry: OutboxEntry) => {
      const plan = planWrites([entry]);
      const arrivals = plan.bucketMoves.filter((move) => move.in_at !== null);
      if (!arrivals.length) return;
      try {
        await db.transaction(async (tx) => {
          await fence(tx);
          await insertMovements(tx, plan.movements);
          await upsertBucketMoves(tx, arrivals);
        });
      } catch (error) {
        if (!isDataError(error)) throw failed(error);
      }
    };
    const apply = async (raw: RawOutboxEntry[]) => {
      const entries = raw.map(({ entryId, json }) => parseEntry(entryId, json, partition));
      try {
        await write(entries);
        return acknowledge(entries);
      } catch (error) {
        if (!isDataError(error)) throw failed(error);
      }
      for (const [n, entry] of entries.entries()) {
        try {
          await write([entry]);
          await acknowledge([entry]);
        } catch (error) {
          if (!isDataError(error)) throw failed(error);
          const reason = String((error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message);
          await recordArrivals(entry);
          await outbox.deadLetter(partition, raw[n], reason);
          result.deadLettered += 1;
        }
      }
    };

    // 1. Whatever an earlier pass read but never acknowledged.
    let cursor = '0-0';
    do {
      const claimed = await outbox.claimPending(partition, consumer, cursor, batchSize);
      if (claimed.entries.length) await apply(claimed.entries);
      cursor = claimed.next;
    } while (cursor !== '0-0' && Date.now() < deadline);

    // 2. New entries.
    while (Date.now() < deadline) {
      const entries = await outbox.readNew(partition, consumer, batchSize);
      if (!entries.length) break;
      await apply(entries);
    }
    await outbox.trimAcknowledged(partition);
  }

  for (const partition of outbox.partitions) {
    try {
      await drainPartition(partition);
    } catch (error) {
      // Its entries were read from data Redis has since lost or replaced: nothing of them was
      // written; the next pass drains the partition as it now stands.
      if (!(error instanceof EpochChangedError)) throw error;
      result.epochChanged.push(partition);
    }
  }
  return result;
}

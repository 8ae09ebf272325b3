import { sql } from 'drizzle-orm';
import type { StatementRunner } from '../db/client';

/**
 * The fence between the drain and a rebuild of Redis from Postgres.
 *
 * A drain reads outbox entries from Redis, then writes them to Postgres. Should Redis lose its data
 * in between (FLUSHALL, a restart without its AOF) and an engine rebuild it from Postgres before the
 * drain's transaction commits, the rebuild would restore a hold as pending whose commit lands in
 * Postgres just after: the shopper could buy it again, and the stock would count the unit twice.
 * So the two exclude each other, per partition:
 *
 * - a drain batch's transaction first takes this partition's lock shared, then checks that the
 *   partition's shard epoch is still the one it saw before reading the entries
 *   (`assertSameEpoch`); a rebuild begins a new epoch first, so a batch read from the lost data
 *   is never written;
 * - a rebuild, after beginning its epoch and before reading Postgres, takes the lock exclusively
 *   once (`awaitDrainsInFlight`): it waits for every batch that checked the epoch before it changed,
 *   and so reads Postgres with their writes in it.
 *
 * The embedded PGlite has a single session that runs a transaction to its end before any other
 * statement, which gives the same order; the lock changes nothing there.
 */

/** The advisory lock class of the fence (two-key form: class, partition). "drai". */
const DRAIN_FENCE = 0x64726169;

/**
 * The advisory lock class that lets one drain batch of a partition write at a time (two-key form:
 * class, partition). "drwr".
 */
const DRAIN_WRITER = 0x64727772;


/** Thrown inside a drain batch's transaction when the partition began a new epoch since its entries were read. */
export class EpochChangedError extends Error {
  constructor(partition: number) {
    super(`Redis partition ${partition} began a new shard epoch since its outbox was read (its data was rebuilt or its master changed): the next pass drains it again`);
  }
}

/**
 * Thrown inside a drain batch's transaction when this pass no longer holds the reconciler lease
 * (Redis lost it with its data, or it ran out while Redis was paused): another pass may be draining
 * the same outbox, and its batches must not land in a different order than Redis wrote them.
 */
export class LeaseLostError extends Error {
  constructor(partition: number) {
    super(`the reconciler lease was lost while the drain wrote partition ${partition} (another pass may be draining it): this pass stops, the next one drains on`);
  }
}

/**
 * A batch's second step, after the fence (applyEntries.ts): one batch of a partition writes at a
 * time. Two passes can overlap once the first lost its lease, each reading its own entries of the
 * same stream, and a write ahead of the drain reads entries the drain may be writing too; should a
 * later batch commit before an earlier one, Postgres would apply a reservation's commit before its
 * hold and keep the hold pending. Under this lock a drain batch then checks that its pass still
 * holds the lease (a pass whose lease is gone writes nothing more), and every batch writes only
 * the entries after the partition's mark.
 */
export async function lockPartitionWriter(tx: StatementRunner, partition: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${DRAIN_WRITER}, ${partition})`);
}

/** First statement of a drain batch's transaction: see above. `epochNow` reads the epoch from Redis. */
export async function assertSameEpoch(tx: StatementRunner, partition: number, epochRead: string | null, epochNow: () => Promise<string | null>): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock_shared(${DRAIN_FENCE}, ${partition})`);
  if ((await epochNow()) !== epochRead) throw new EpochChangedError(partition);
}

/** A rebuild's barrier, after beginning the partitions' new epoch and before reading Postgres. */
export async function awaitDrainsInFlight(db: StatementRunner, partitions: Iterable<number>): Promise<void> {
  // One statement each, its own transaction: the lock is let go as soon as it is granted.
  for (const partition of partitions) await db.execute(sql`select pg_advisory_xact_lock(${DRAIN_FENCE}, ${partition})`);
}

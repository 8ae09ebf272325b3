import type { Database } from '../db/client';
import type { OnExisting } from '../db/jsonRows';
import { isUniqueViolation } from '../db/queryFailure';
import { upsertBucketMoves } from '../db/bucketMoveRepository';
import { deleteBindingsOf, insertBindings } from '../db/factsRepository';
import { markLinesRemoved, upsertLineTickets } from '../db/lineTicketRepository';
import { extendReservations, finishReservations, insertReservationItems, insertReservations } from '../db/reservationRepository';
import { applySkuSettings, applySkuSnapshots, insertMovements, replaceStockLevels } from '../db/skuRepository';
import { type RecordedFacts, recordWebhookEvents } from '../webhooks/recordEvents';
import { readOutboxMark, writeOutboxMark } from '../db/outboxMarkRepository';
import { type OutboxEntry, isLaterEntryId } from '../redis/outboxEntry';
import { LeaseLostError, lockPartitionWriter } from './drainFence';
import { type WritePlan, planWrites } from './writePlan';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/** A batch of one partition's outbox entries, read in shard epoch `epoch` (null: none had begun). */
export interface EntryBatch {
  partition: number;
  epoch: string | null;
  entries: OutboxEntry[];
}

/**
 * Writes a batch of outbox entries in one transaction (by the drain, or ahead of it:
 * factsAhead.ts). Inside it, before anything is written: `fence` (the drain's fence,
 * drainFence.ts), then the partition's writer lock, then, for a drain, whether its pass still holds
 * the reconciler lease; what they throw rolls the batch back. Then only the entries after the
 * partition's mark (how far Postgres holds its outbox, in this epoch) are planned and written, and
 * the mark moves on: a batch read before another and written after it (a write ahead of the drain
 * racing a drain batch, a pass that resumed) cannot take a reservation's expiry or a key's binding
 * back. Every statement is idempotent besides. The webhook events of what the batch changed are
 * recorded in the same transaction (src/webhooks/recordEvents.ts).
 */
export async function applyEntries(
  db: Database,
  batch: EntryBatch,
  checks: { fence: (tx: Transaction) => Promise<void>; leaseHeld?: () => Promise<boolean> },
): Promise<void> {
  const { partition, epoch, entries } = batch;
  await db.transaction(async (tx) => {
    await checks.fence(tx);
    await lockPartitionWriter(tx, partition);
    if (checks.leaseHeld && !(await checks.leaseHeld())) throw new LeaseLostError(partition);
    const mark = epoch === null ? null : await readOutboxMark(tx, partition);
    const fresh = mark?.epoch === epoch ? entries.filter((entry) => isLaterEntryId(entry.entryId, mark.entryId)) : entries;
    if (!fresh.length) return;
    await writePlan(tx, planWrites(fresh));
    if (epoch !== null) await writeOutboxMark(tx, partition, { epoch, entryId: fresh[fresh.length - 1].entryId });
  });
}

/** Writes a planned batch inside its transaction. */
async function writePlan(tx: Transaction, plan: WritePlan): Promise<void> {
  // The tickets too: line webhooks are recorded from their new states.
  const facts = { created: [] as string[], finished: [] as RecordedFacts['finished'], snapshots: plan.snapshots, levels: plan.levels, tickets: plan.tickets };
  if (plan.skuSettings.length) await applySkuSettings(tx, plan.skuSettings);
  facts.created = await insertNewRows(tx, plan);
  if (plan.bindings.length) await insertBindings(tx, plan.bindings);
  if (plan.unbinds.length) await deleteBindingsOf(tx, plan.unbinds);
  if (plan.bucketMoves.length) await upsertBucketMoves(tx, plan.bucketMoves);
  if (plan.extensions.length) await extendReservations(tx, plan.extensions);
  if (plan.finishes.length) facts.finished = await finishReservations(tx, plan.finishes);
  if (plan.tickets.length) await upsertLineTickets(tx, plan.tickets);
  if (plan.lineRemovals.length) await markLinesRemoved(tx, plan.lineRemovals);
  if (plan.snapshots.length) await applySkuSnapshots(tx, plan.snapshots);
  await replaceStockLevels(tx, plan.levels);
  await recordWebhookEvents(tx, facts);
}

/**
 * The batch's rows that only ever get inserted (reservations, their lines, movements), as new: one
 * is there already only when a batch is drained again (a crash between its commit and its ack),
 * which fails the savepoint on a unique key and redoes the inserts skipping what is there.
 * Inserting as new spares every row of the usual batch a speculative insertion (OnExisting).
 * Answers the reservations inserted.
 */
async function insertNewRows(tx: Transaction, plan: WritePlan): Promise<string[]> {
  // A batch of counters or ends only: no savepoint to pay for.
  if (!plan.reservations.length && !plan.items.length && !plan.movements.length) return [];
  try {
    return await tx.transaction((savepoint) => insertRows(savepoint, plan, 'fail'));
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return insertRows(tx, plan, 'skip');
  }
}

async function insertRows(tx: Transaction, plan: WritePlan, existing: OnExisting): Promise<string[]> {
  const created = plan.reservations.length ? await insertReservations(tx, plan.reservations, existing) : [];
  if (plan.items.length) await insertReservationItems(tx, plan.items, existing);
  if (plan.movements.length) await insertMovements(tx, plan.movements, existing);
  return created;
}

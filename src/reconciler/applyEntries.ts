import type { Database } from '../db/client';
import type { OnExisting } from '../db/jsonRows';
import { isUniqueViolation } from '../db/queryFailure';
import { upsertBucketMoves } from '../db/bucketMoveRepository';
import { deleteBindingsOf, insertBindings } from '../db/factsRepository';
import { markLinesRemoved, upsertLineTickets } from '../db/lineTicketRepository';
import { extendReservations, finishReservations, insertReservationItems, insertReservations } from '../db/reservationRepository';
import { applySkuSettings, applySkuSnapshots, insertMovements, replaceStockLevels } from '../db/skuRepository';
import { type RecordedFacts, recordWebhookEvents } from '../webhooks/recordEvents';
import type { WritePlan } from './writePlan';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * Writes a planned batch in one transaction; every statement is idempotent. The webhook events of
 * what the batch changed are recorded in the same transaction (src/webhooks/recordEvents.ts).
 * `first` runs before anything is written, inside the transaction (the drain's fence,
 * drainFence.ts); what it throws rolls the batch back.
 */
export async function applyWritePlan(db: Database, plan: WritePlan, first?: (tx: Transaction) => Promise<void>): Promise<void> {
  await db.transaction(async (tx) => {
    await first?.(tx);
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
  });
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

import type { Database } from '../db/client';
import { deleteBindingsOf, insertBindings } from '../db/factsRepository';
import { markLinesRemoved, upsertLineTickets } from '../db/lineTicketRepository';
import { extendReservations, finishReservations, insertReservationItems, insertReservations } from '../db/reservationRepository';
import { applySkuSettings, applySkuSnapshots, insertMovements, replaceStockLevels } from '../db/skuRepository';
import { type RecordedFacts, recordWebhookEvents } from '../webhooks/recordEvents';
import type { WritePlan } from './writePlan';

/**
 * Writes a planned batch in one transaction; every statement is idempotent. The webhook events of
 * what the batch changed are recorded in the same transaction (src/webhooks/recordEvents.ts).
 */
export async function applyWritePlan(db: Database, plan: WritePlan): Promise<void> {
  await db.transaction(async (tx) => {
    // The tickets too: line webhooks are recorded from their new states.
    const facts = { created: [] as string[], finished: [] as RecordedFacts['finished'], snapshots: plan.snapshots, levels: plan.levels, tickets: plan.tickets };
    if (plan.skuSettings.length) await applySkuSettings(tx, plan.skuSettings);
    if (plan.reservations.length) facts.created = await insertReservations(tx, plan.reservations);
    if (plan.bindings.length) await insertBindings(tx, plan.bindings);
    if (plan.unbinds.length) await deleteBindingsOf(tx, plan.unbinds);
    if (plan.items.length) await insertReservationItems(tx, plan.items);
    if (plan.extensions.length) await extendReservations(tx, plan.extensions);
    if (plan.finishes.length) facts.finished = await finishReservations(tx, plan.finishes);
    if (plan.movements.length) await insertMovements(tx, plan.movements);
    if (plan.tickets.length) await upsertLineTickets(tx, plan.tickets);
    if (plan.lineRemovals.length) await markLinesRemoved(tx, plan.lineRemovals);
    if (plan.snapshots.length) await applySkuSnapshots(tx, plan.snapshots);
    await replaceStockLevels(tx, plan.levels);
    await recordWebhookEvents(tx, facts);
  });
}

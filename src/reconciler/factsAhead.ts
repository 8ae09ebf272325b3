import type { Database } from '../db/client';
import type { Outbox } from '../redis/outbox';
import type { OutboxEntry } from '../redis/outboxEntry';
import { applyWritePlan } from './applyWritePlan';
import { assertSameEpoch } from './drainFence';
import { factsAheadOfDrain, planWrites } from './writePlan';

/**
 * Writes the facts of one outbox entry to Postgres ahead of the drain, for a change Postgres must
 * know before its caller goes on: a PUT's SET movement (so an acknowledged PUT survives Redis
 * losing its data before the drain), a move's units leaving their bucket (bucketMoves.ts). Only
 * the movements a total is made of and a move's row (writePlan.ts, factsAheadOfDrain); the drain
 * writes the entry again later, to no effect.
 *
 * Fenced like a drain batch (drainFence.ts): written only while the partition is still in
 * `epochRead`, the epoch read before the change was made. A rebuild begins a new epoch and then
 * waits for every write that checked the old one, so it reads Postgres either with these facts
 * in it or after this write was refused; written after it read, they would count a change the
 * rebuilt Redis never had. Refused, it throws (EpochChangedError), and the drain writes them in
 * order if the entry survived.
 */
export async function recordFactsAhead(db: Database, outbox: Outbox, entry: OutboxEntry, partition: number, epochRead: string | null): Promise<void> {
  await applyWritePlan(db, factsAheadOfDrain(planWrites([entry])), (tx) => assertSameEpoch(tx, partition, epochRead, () => outbox.epochOf(partition)));
}

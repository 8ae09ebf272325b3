import type { Database } from '../db/client';
import { UnavailableError } from '../domain/errors';
import type { Outbox } from '../redis/outbox';
import { isLaterEntryId, parseEntry } from '../redis/outboxEntry';
import { applyEntries } from './applyEntries';
import { EpochChangedError, assertSameEpoch } from './drainFence';

/** Entries written ahead of the drain at most; a longer backlog waits for the drain (503). */
const MAX_AHEAD = 20_000;

/**
 * Writes a change to Postgres ahead of the drain, for a change Postgres must know before its caller
 * goes on: a PUT's (so an acknowledged PUT survives Redis losing it before the drain), a move's
 * units leaving their bucket (bucketMoves.ts). Written as the drain would write it, with every
 * entry of its partition's outbox before it: what Postgres holds stays a prefix of what Redis did.
 * The change alone would not be one: a move out written while an adjust that gave the bucket those
 * units is still in the outbox, then Redis losing both, would leave Postgres with the units gone
 * and never come, and the rebuild would restore a bucket whose facts sold more than it held.
 * Entries this process already wrote so (in the same epoch) are not read again.
 *
 * Fenced like a drain batch (drainFence.ts): written only while the partition is still in
 * `epochRead`, the epoch read before the change was made. A rebuild begins a new epoch and then
 * waits for every write that checked the old one, so it reads Postgres either with these entries in
 * it or after this write was refused; written after it read, they would count changes the rebuilt
 * Redis never had. Refused, it throws (EpochChangedError), and the drain writes them in order if
 * they survived.
 */
export class FactsAhead {
  /** Per partition, the last entry written here and the epoch it was written in: Postgres holds it and every one before it. */
  private readonly written = new Map<number, { epoch: string | null; entryId: string }>();

  constructor(
    private readonly db: Database,
    private readonly outbox: Outbox,
  ) {}

  async record(partition: number, entryId: string, epochRead: string | null): Promise<void> {
    const mark = this.written.get(partition);
    const after = mark?.epoch === epochRead ? mark.entryId : null;
    if (after && !isLaterEntryId(entryId, after)) return;
    const { outbox } = this;
    const raw = await outbox.entriesUpTo(partition, after, entryId, MAX_AHEAD);
    if (raw[raw.length - 1]?.entryId !== entryId) {
      if (raw.length === MAX_AHEAD) throw new UnavailableError('Postgres', undefined, `the outbox holds more than ${MAX_AHEAD} entries before this change: retry once the reconciler drained them`);
      // Gone from the stream: drained and trimmed already, unless Redis lost it with its data.
      if ((await outbox.epochOf(partition)) !== epochRead) throw new EpochChangedError(partition);
      return;
    }
    const entries = raw.map(({ entryId: id, json }) => parseEntry(id, json, partition));
    await applyEntries(this.db, { partition, epoch: epochRead, entries }, { fence: (tx) => assertSameEpoch(tx, partition, epochRead, () => outbox.epochOf(partition)) });
    const now = this.written.get(partition);
    if (!now || now.epoch !== epochRead || isLaterEntryId(entryId, now.entryId)) this.written.set(partition, { epoch: epochRead, entryId });
  }
}

import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client';
import { findBucketMoves, findUnfinishedMoves } from '../db/bucketMoveRepository';
import type { BucketMove } from '../redis/bucketMoveScripts';
import type { StockMaintenance } from '../redis/stockMaintenance';
import type { FactsAhead } from './factsAhead';

/** How long a move may take before a reconciler pass finishes it in its place. */
export const MOVE_GRACE_MS = 30_000;

/** Moves finished per pass. */
const FINISHED_PER_PASS = 500;

export type MoveResult =
  | { moved: true; id: string }
  | { moved: false; reason: 'SKU_NOT_FOUND' }
  | { moved: false; reason: 'INSUFFICIENT_STOCK'; available: number };

/**
 * Moves units between two buckets of a SKU (src/domain/buckets.ts), in three steps, each its own
 * script in its own partition:
 *
 * 1. out: the units leave the source bucket and are counted there as moving out;
 * 2. in: they are added to the target bucket, once per move (a marker in the target's partition);
 * 3. done: the source stops counting them as moving out.
 *
 * Between 1 and 2 the move out is written to Postgres, under the drain's fence (drainFence.ts):
 * were it only in the source's outbox, a source that loses its data after step 2 would be rebuilt
 * from a Postgres that never saw the units leave, and sell them a second time. A move out that
 * never reached Postgres never happened for a rebuild, which is right, since its units never
 * arrived anywhere either (step 2 waits for it). It is written with every change before it in
 * the source partition's outbox, as the drain would (factsAhead.ts).
 *
 * Whatever a crash or an outage leaves half-done is finished by the reconciler (finishLeftMoves),
 * from Postgres, which knows which moves left their source and which arrived: a target that lost
 * the units it was given (and their marker) is given them again.
 */
export class BucketMoves {
  constructor(
    private readonly maintenance: StockMaintenance,
    private readonly db: Database,
    /** Where the move out is written ahead of the drain. */
    private readonly factsAhead: FactsAhead,
    /** How long a move may take before finishLeftMoves finishes it in its place. */
    private readonly graceMs = MOVE_GRACE_MS,
  ) {}

  /**
   * Moves `qty` units of `location` ('' on a SKU without locations) from one bucket to another;
   * refused when the source has fewer available there.
   */
  async move(source: string, target: string, qty: number, location: string): Promise<MoveResult> {
    const { bucketMoves: scripts, outbox } = this.maintenance;
    const move: BucketMove = { id: randomUUID(), source, target, qty, location };
    const partition = scripts.sourcePartition(move);
    // Read before the move out: its entry is written only if the data it is in is still Redis's.
    const epochRead = await outbox.epochOf(partition);
    const out = await scripts.takeOut(move);
    if (!out.taken) return out.reason === 'SKU_NOT_FOUND' ? { moved: false, reason: out.reason } : { moved: false, reason: out.reason, available: out.available };
    await this.factsAhead.record(partition, out.entry.entryId, epochRead);
    if ((await scripts.putIn(move)) !== 'SKU_NOT_FOUND') await scripts.finish(move);
    return { moved: true, id: move.id };
  }

  /**
   * Finishes moves begun more than the grace ago and never finished: pending in their
   * source's partition, or known to Postgres as out and not in. A move Postgres has not seen leave
   * its source is left for the drain to bring; one Postgres has seen arrive is only ended at its
   * source. Returns how many it changed anything of.
   */
  async finishLeftMoves(): Promise<number> {
    const { bucketMoves: scripts } = this.maintenance;
    const before = (await scripts.timeMs()) - this.graceMs;
    const candidates = new Map<string, BucketMove>();
    for (const partition of this.maintenance.partitions) {
      for (const move of await scripts.pending(partition)) if (move.startedAtMs < before) candidates.set(move.id, move);
    }
    for (const { id, fromSku, toSku, qty, location } of await findUnfinishedMoves(this.db, before, FINISHED_PER_PASS)) {
      candidates.set(id, { id, source: fromSku, target: toSku, qty, location });
    }
    const known = await findBucketMoves(this.db, [...candidates.keys()]);
    let finished = 0;
    for (const move of candidates.values()) {
      const row = known.get(move.id);
      if (!row?.outAt) continue;
      const putIn = row.inAt ? 'added before' : await scripts.putIn(move);
      if (putIn === 'SKU_NOT_FOUND') continue;
      if ((await scripts.finish(move)) || putIn === 'added') finished += 1;
    }
    return finished;
  }
}

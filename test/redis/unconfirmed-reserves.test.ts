/**
 * The undo of reserves answered 503 (src/redis/unconfirmedReserves.ts) as a scheduler: an undo call
 * stuck on a paused or dying server (until the command timeout) does not hold back a fresh round,
 * and each reserve is reported once, by the round that settled it. The undo here is a function the
 * test answers by hand; what an undo does in Redis is tested with the engine under faults
 * (test/faults/unanswered-reserves.test.ts, test/faults/unconfirmed-reserves.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { type UndoOutcome, UnconfirmedReserves } from '../../src/redis/unconfirmedReserves';

const RETRY_MS = 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An undo whose calls the test answers: each call waits until `answer` (or `fail`) is called for it. */
function handAnsweredUndo() {
  const calls: { id: string; answer: (outcome: UndoOutcome) => void; fail: (error: Error) => void }[] = [];
  const undo = ({ id }: { id: string }) =>
    new Promise<UndoOutcome>((resolve, reject) => {
      calls.push({ id, answer: resolve, fail: reject });
    });
  return { calls, undo };
}

describe('undoing reserves answered 503', () => {
  it('a round stuck past the retry interval does not hold back a fresh one; each reserve is reported once', async () => {
    const { calls, undo } = handAnsweredUndo();
    const reports: [UndoOutcome, string[]][] = [];
    const unconfirmed = new UnconfirmedReserves<{ id: string }>(undo, (outcome, commands) => reports.push([outcome, commands.map(({ id }) => id)]), RETRY_MS);
    unconfirmed.add([{ id: 'r1' }]);
    const stuck = unconfirmed.settle();
    expect(calls.map(({ id }) => id)).toEqual(['r1']);
    // Within the interval a caller joins the round out.
    expect(unconfirmed.settle()).toBe(stuck);
    await sleep(RETRY_MS + 10);
    // Past it, a fresh round sends the undo again (the timer may have started it already).
    const fresh = unconfirmed.settle();
    expect(fresh).not.toBe(stuck);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    calls.at(-1)!.answer('released');
    await fresh;
    expect(unconfirmed.size).toBe(0);
    expect(reports).toEqual([['released', ['r1']]]);
    // The stuck call's answer comes at last: dropped, and its round ends without a failure.
    calls[0].answer('committed');
    await stuck;
    for (const call of calls.slice(1, -1)) call.fail(new Error('Command timed out'));
    await sleep(1);
    expect(reports).toEqual([['released', ['r1']]]);
    await unconfirmed.close();
  });

  it('a round whose undo fails keeps the reserve for the next one, which reports it', async () => {
    const { calls, undo } = handAnsweredUndo();
    const reports: [UndoOutcome, string[]][] = [];
    const unconfirmed = new UnconfirmedReserves<{ id: string }>(undo, (outcome, commands) => reports.push([outcome, commands.map(({ id }) => id)]), RETRY_MS);
    unconfirmed.add([{ id: 'r1' }, { id: 'r2' }]);
    const first = unconfirmed.settle();
    calls[0].fail(new Error('Connection is closed.'));
    calls[1].answer('not_applied');
    await expect(first).rejects.toThrow('Connection is closed.');
    expect(unconfirmed.size).toBe(1);
    // Ended, so the next caller starts a round at once.
    const second = unconfirmed.settle();
    expect(calls.map(({ id }) => id)).toEqual(['r1', 'r2', 'r1']);
    calls[2].answer('released');
    await second;
    expect(reports).toEqual([
      ['not_applied', ['r2']],
      ['released', ['r1']],
    ]);
    expect(await unconfirmed.close()).toBe(0);
  });
});

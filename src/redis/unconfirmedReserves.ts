/**
 * Reserves the engine answered 503 although their script may still run or have run: the reply
 * did not come in time (a hung or paused Redis), or the connection dropped with the call in
 * flight. The engine knows the ids it sent, so it keeps them until Redis answers again and then
 * undoes each (lua/abandon.lua), before any further reserve is sent: a reserve answered 503
 * leaves nothing held. The undo goes out on the same connection as the late script, so Redis runs
 * it after that script.
 *
 * A round of undoes still out after `retryMs` (a call stuck on a paused or dying server until the
 * command timeout) does not hold back the next: a fresh round sends them again, which reaches the
 * new master once the slot map names it. An undo is idempotent; whichever round settles a reserve
 * first reports it, and a later answer for it is dropped.
 */
export type UndoOutcome =
  /** The script had run: its hold is released (or had expired) and its Idempotency-Key unbound. */
  | 'released'
  /** The script never ran. */
  | 'not_applied'
  /** Kept: it was committed (another engine replayed it to the client, who paid). */
  | 'committed'
  /** Kept: a retry with its Idempotency-Key was answered with it, by this or another process. */
  | 'replayed'
  /** The engine stopped before Redis answered: the hold, if any, expires by itself. */
  | 'left_to_expire';

export class UnconfirmedReserves<Command extends { id: string }> {
  private readonly pending = new Map<string, Command>();
  /** The latest round of undoes while it is out, and when it began. */
  private latest?: { settled: Promise<void>; startedAt: number };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly undo: (command: Command) => Promise<UndoOutcome>,
    private readonly report: (outcome: UndoOutcome, commands: Command[]) => void,
    private readonly retryMs = 250,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add(commands: Command[]): void {
    for (const command of commands) this.pending.set(command.id, command);
    // Settled also without further traffic, as soon as Redis answers.
    this.timer ??= setInterval(() => void this.settle().catch(() => {}), this.retryMs).unref();
  }

  /**
   * Undoes every kept reserve; rejects (keeping the ones that failed) while Redis does not answer.
   * Joins the round out unless it began `retryMs` ago or more.
   */
  settle(): Promise<void> {
    const { latest } = this;
    if (latest && Date.now() - latest.startedAt < this.retryMs) return latest.settled;
    const round = { settled: this.undoAll(), startedAt: Date.now() };
    this.latest = round;
    const ended = () => {
      if (this.latest === round) this.latest = undefined;
    };
    round.settled.then(ended, ended);
    return round.settled;
  }

  /** One last attempt, then reports what is left as left to expire; returns how many. */
  async close(): Promise<number> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.settle().catch(() => {});
    const left = [...this.pending.values()];
    this.pending.clear();
    if (left.length) this.report('left_to_expire', left);
    return left.length;
  }

  private async undoAll(): Promise<void> {
    const commands = [...this.pending.values()];
    const outcomes = await Promise.allSettled(commands.map((command) => this.undo(command)));
    const settled = new Map<UndoOutcome, Command[]>();
    let failure: unknown;
    outcomes.forEach((outcome, n) => {
      const command = commands[n];
      // Settled meanwhile by a fresh round (this one's call was stuck): reported there.
      if (this.pending.get(command.id) !== command) return;
      if (outcome.status === 'rejected') {
        failure ??= outcome.reason;
        return;
      }
      this.pending.delete(command.id);
      settled.set(outcome.value, [...(settled.get(outcome.value) ?? []), command]);
    });
    for (const [outcome, done] of settled) this.report(outcome, done);
    if (!this.pending.size) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (failure !== undefined) throw failure;
  }
}

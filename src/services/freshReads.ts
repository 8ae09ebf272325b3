/**
 * Reads of one key shared by the callers that ask for them at once, each caller getting a read that
 * began after it asked: a read under way when a caller asks may have begun before what the caller
 * saw (its reserve refused), so the caller waits for the next read, which every caller queued
 * behind the one under way shares. At most two reads of a key run or wait at a time, however many
 * callers ask: when a sold-out split SKU is asked for by thousands of shoppers before its sold-out
 * answer is known, its buckets are counted a few times instead of once per shopper.
 */
export class FreshReads<T> {
  private readonly keys = new Map<string, { running?: Promise<T>; next?: Promise<T> }>();

  read(key: string, run: () => Promise<T>): Promise<T> {
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = {}));
    const { running } = state;
    // A read queued behind one that just ended starts in a moment, after this caller asked.
    if (!running) return state.next ?? this.start(key, state, run);
    const queued = state;
    queued.next ??= running.then(
      () => this.startNext(key, queued, run),
      () => this.startNext(key, queued, run),
    );
    return queued.next;
  }

  private startNext(key: string, state: { running?: Promise<T>; next?: Promise<T> }, run: () => Promise<T>): Promise<T> {
    state.next = undefined;
    return this.start(key, state, run);
  }

  private start(key: string, state: { running?: Promise<T>; next?: Promise<T> }, run: () => Promise<T>): Promise<T> {
    const running = run().finally(() => {
      if (state.running === running) state.running = undefined;
      if (!state.running && !state.next) this.keys.delete(key);
    });
    state.running = running;
    return running;
  }
}

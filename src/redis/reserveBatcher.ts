/**
 * Folds the requests that arrive within one event-loop turn into one script call (the reserves of
 * a partition into lua/reserve.lua, its line joins into lua/line_join.lua): one round trip, one
 * script run and one outbox entry for all of them, while each request is still decided on its
 * own, in arrival order, exactly as if it had run alone.
 */
export interface BatchItem<Request, Reply> {
  request: Request;
  resolve: (reply: Reply) => void;
  reject: (error: unknown) => void;
}

export class Batcher<Request, Reply> {
  private queue: BatchItem<Request, Reply>[] = [];
  private scheduled = false;

  constructor(
    /** Sends one batch; must return one reply per request, in order. */
    private readonly send: (requests: Request[]) => Promise<Reply[]>,
    private readonly maxBatch: number,
  ) {}

  submit(request: Request): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        // After the I/O callbacks of this turn: every request parsed in it joins the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (!batch.length) return;
    this.queue = [];
    this.send(batch.map((item) => item.request)).then(
      (replies) => batch.forEach((item, n) => item.resolve(replies[n])),
      (error) => batch.forEach((item) => item.reject(error)),
    );
  }
}

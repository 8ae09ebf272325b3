import { randomUUID } from 'node:crypto';
import type { RedisStore } from './redisStore';
import { releaseLeaseCall, renewLeaseCall } from './scriptCalls';

/** How often a lease that could not be let go (Redis not answering) is tried again. */
const RELEASE_RETRY_MS = 250;
/** How often a pass that waits for the lease looks again. */
const ACQUIRE_POLL_MS = 50;

/** A held lease: renewed in the background until released; `lost` tells if another holder took it meanwhile. */
export interface HeldLease {
  readonly lost: boolean;
  /** Whether Redis says this holder has the lease now. */
  held(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * The one reconciler pass running across every engine sharing this Redis holds this lease: a key
 * set only if absent, with a time to live, renewed every third of it while the pass runs, and
 * released only by its own holder (a token), so a holder whose lease ran out never deletes the
 * next holder's.
 */
export class ReconcileLease {
  constructor(
    private readonly store: RedisStore,
    private readonly ttlMs = 15_000,
  ) {}

  /**
   * Lets go of the lease; when Redis cannot answer (paused, or its shard failing over mid-pass),
   * tries again every quarter second until it can, so the next pass starts within moments of Redis
   * answering instead of waiting out the lease's time to live.
   */
  private async releaseSoon(key: string, token: string): Promise<void> {
    const release = () => this.store.run(releaseLeaseCall(key, token)).then(() => true, () => false);
    if (await release()) return;
    const deadline = Date.now() + this.ttlMs;
    const retry = setInterval(() => {
      void release().then((done) => {
        if (done || Date.now() > deadline) clearInterval(retry);
      });
    }, RELEASE_RETRY_MS).unref();
  }

  /**
   * Takes the lease; null when another holder has it for `waitMs` (default: do not wait). Passes
   * are short, so a pass asked for by an operator waits a moment rather than lose every race with
   * the cron passes of many engines.
   */
  async acquire(waitMs = 0): Promise<HeldLease | null> {
    const key = this.store.keys.reconcileLease();
    const token = randomUUID();
    const deadline = Date.now() + waitMs;
    for (;;) {
      let taken: string | null;
      try {
        taken = await this.store.call((client) => client.set(key, token, 'PX', this.ttlMs, 'NX'));
      } catch (error) {
        // The SET may still run once Redis answers (a paused Redis): it would hold the lease for a
        // pass nobody runs, for its whole time to live. Let go of it as soon as Redis answers.
        void this.releaseSoon(key, token);
        throw error;
      }
      if (taken === 'OK') break;
      if (Date.now() >= deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, ACQUIRE_POLL_MS));
    }
    let lost = false;
    const renewal = setInterval(() => {
      this.store.run<number>(renewLeaseCall(key, token, this.ttlMs)).then(
        (renewed) => (lost ||= renewed !== 1),
        () => {},
      );
    }, this.ttlMs / 3);
    return {
      get lost() {
        return lost;
      },
      held: async () => (await this.store.call((client) => client.get(key))) === token,
      release: async () => {
        clearInterval(renewal);
        await this.releaseSoon(key, token);
      },
    };
  }
}

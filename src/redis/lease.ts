import { randomUUID } from 'node:crypto';
import type { RedisStore } from './redisStore';
import { releaseLeaseCall, renewLeaseCall } from './scriptCalls';

/** How often a lease that could not be let go (Redis not answering) is tried again. */
const RELEASE_RETRY_MS = 250;
/** How often a holder that waits for the lease looks again. */
const ACQUIRE_POLL_MS = 50;

/** A held lease: renewed in the background until released; `lost` tells if another holder took it meanwhile. */
export interface HeldLease {
  readonly lost: boolean;
  /** Whether Redis says this holder has the lease now. */
  held(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * A lease one holder at a time has, across every engine sharing this Redis: a key set only if
 * absent, with a time to live, renewed every third of it while held, and released only by its own
 * holder (a token), so a holder whose lease ran out never deletes the next holder's. The one
 * reconciler pass running holds the reconcile lease (`reconcileLease`); a SKU's write holds that
 * SKU's (StockMaintenance.writeLease).
 */
export class Lease {
  constructor(
    private readonly store: RedisStore,
    private readonly key: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Lets go of the lease; when Redis cannot answer (paused, or its shard failing over mid-pass),
   * tries again every quarter second until it can, so the next pass starts within moments of Redis
   * answering instead of waiting out the lease's time to live.
   */
  private async releaseSoon(token: string): Promise<void> {
    const { key } = this;
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
   * Takes the lease; null when another holder has it for `waitMs` (default: do not wait).
   */
  async acquire(waitMs = 0): Promise<HeldLease | null> {
    const { key } = this;
    const token = randomUUID();
    const deadline = Date.now() + waitMs;
    for (;;) {
      let taken: string | null;
      try {
        taken = await this.store.call((client) => client.set(key, token, 'PX', this.ttlMs, 'NX'));
      } catch (error) {
        // The SET may still run once Redis answers (a paused Redis): it would hold the lease for a
        // pass nobody runs, for its whole time to live. Let go of it as soon as Redis answers.
        void this.releaseSoon(token);
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
        await this.releaseSoon(token);
      },
    };
  }
}

/** How long the reconcile lease lasts unless renewed: a pass whose engine died holds it no longer. */
const RECONCILE_LEASE_MS = 15_000;

/**
 * The lease of the one reconciler pass running across every engine. Passes are short, so a pass
 * asked for by an operator waits a moment for it rather than lose every race with the cron passes
 * of many engines.
 */
export const reconcileLease = (store: RedisStore) => new Lease(store, store.keys.reconcileLease(), RECONCILE_LEASE_MS);

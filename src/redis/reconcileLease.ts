import { randomUUID } from 'node:crypto';
import type { RedisStore } from './redisStore';

/** A held lease: renewed in the background until released; `lost` tells if another holder took it meanwhile. */
export interface HeldLease {
  readonly lost: boolean;
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
   * Lets go of the lease; when Redis cannot answer (its shard failing over mid-pass), tries again
   * every second until it can, so the next pass need not wait out the lease's time to live.
   */
  private async releaseSoon(key: string, token: string): Promise<void> {
    const release = () => this.store.runScript('release_lease', [key], [token]).then(() => true, () => false);
    if (await release()) return;
    const deadline = Date.now() + this.ttlMs;
    const retry = setInterval(() => {
      void release().then((done) => {
        if (done || Date.now() > deadline) clearInterval(retry);
      });
    }, 1000).unref();
  }

  /** Takes the lease; null when another holder has it. */
  async acquire(): Promise<HeldLease | null> {
    const key = this.store.keys.reconcileLease();
    const token = randomUUID();
    const taken = await this.store.call((client) => client.set(key, token, 'PX', this.ttlMs, 'NX'));
    if (taken !== 'OK') return null;
    let lost = false;
    const renewal = setInterval(() => {
      this.store.runScript<number>('renew_lease', [key], [token, this.ttlMs]).then(
        (renewed) => (lost ||= renewed !== 1),
        () => {},
      );
    }, this.ttlMs / 3);
    return {
      get lost() {
        return lost;
      },
      release: async () => {
        clearInterval(renewal);
        await this.releaseSoon(key, token);
      },
    };
  }
}

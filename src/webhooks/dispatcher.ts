import type { Database } from '../db/client';
import { type AttemptOutcome, type ClaimedDelivery, claimDueDeliveries, pruneEvents, recordAttempt, releaseClaims } from '../db/webhookRepository';
import { SIGNATURE_HEADER, retryDelayMs } from '../domain/webhooks';
import { publicAddressesOf } from './destination';
import { failureClass } from './failureClass';
import { post } from './post';
import { signatureHeader } from './signature';

export interface DispatcherOptions {
  /** Longest wait for a receiver's answer; a hanging receiver fails the attempt then. */
  timeoutMs: number;
  /** Wait before the first retry; doubled per failure (see retryDelayMs). */
  retryBaseMs: number;
  /** How long after an event was recorded it is still retried; then its delivery is FAILED. */
  retryForMs: number;
  /**
   * WEBHOOK_ALLOW_PRIVATE: send to any address. Otherwise (the default) each attempt checks again
   * that its host is public, as registration did, and connects only to the addresses it checked.
   */
  allowPrivate?: boolean;
  /** How often due deliveries are looked for. */
  pollMs?: number;
  /** Deliveries taken per look. */
  batchSize?: number;
  /** Told when a delivery is given up (never the secret or the URL, which may carry a token). */
  onGiveUp?: (delivery: { endpointId: string; eventId: string; attempts: number }) => void;
}

/** Finished deliveries stay listed this long past their retry window, then go with their event. */
const KEPT_AFTER_RETRIES_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/** What a stopped dispatcher's in-flight attempt fails with: given back untried, not recorded. */
class Stopping extends Error {}

/**
 * Sends recorded webhook events: takes due deliveries from Postgres (leased, so several engine
 * processes share the work and a crashed one's deliveries come back), POSTs each signed to its
 * endpoint, and records the attempt and what follows: delivered on a 2xx, else retried with
 * backoff until its window closes. Each endpoint is sent to on its own strand: a receiver that
 * hangs holds up only itself, and an endpoint's deliveries go out in recording order.
 */
export class WebhookDispatcher {
  /** Endpoints with a strand running: left out of the next look until it ends. */
  private readonly strands = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private timer?: NodeJS.Timeout;
  private looking?: Promise<void>;
  private prunedAt = 0;

  constructor(
    private readonly db: Database,
    private readonly options: DispatcherOptions,
  ) {}

  start(): this {
    const loop = () => {
      this.looking = this.lookForDue()
        .catch(() => {
          // Postgres unreachable: the deliveries wait there; the next look tries again.
        })
        .finally(() => {
          if (!this.stopping.signal.aborted) this.timer = setTimeout(loop, this.options.pollMs ?? 1000);
        });
    };
    loop();
    return this;
  }

  /** Stops looking, abandons attempts in flight (their leases given back) and waits for the strands to end. */
  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.looking;
    await Promise.all(this.strands.values());
  }

  private async lookForDue(): Promise<void> {
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      await pruneEvents(this.db, new Date(Date.now() - this.options.retryForMs - KEPT_AFTER_RETRIES_MS));
    }
    const due = await claimDueDeliveries(this.db, {
      limit: this.options.batchSize ?? 50,
      leaseMs: this.options.timeoutMs + 30_000,
      busy: [...this.strands.keys()],
    });
    const byEndpoint = new Map<string, ClaimedDelivery[]>();
    for (const delivery of due) byEndpoint.set(delivery.endpointId, [...(byEndpoint.get(delivery.endpointId) ?? []), delivery]);
    for (const [endpointId, deliveries] of byEndpoint) {
      const strand = this.sendInOrder(deliveries)
        .catch(() => {
          // Postgres failed while recording: the leases lapse and the deliveries are sent again.
        })
        .finally(() => this.strands.delete(endpointId));
      this.strands.set(endpointId, strand);
    }
  }

  /** One endpoint's deliveries in order; after a failure the rest go back, to keep the order behind it. */
  private async sendInOrder(deliveries: ClaimedDelivery[]): Promise<void> {
    for (const [n, delivery] of deliveries.entries()) {
      let outcome: AttemptOutcome;
      try {
        outcome = await this.attempt(delivery);
      } catch (error) {
        if (error instanceof Stopping) return releaseClaims(this.db, deliveries.slice(n));
        throw error;
      }
      await recordAttempt(this.db, delivery, outcome);
      if (outcome.state === 'FAILED') this.options.onGiveUp?.({ endpointId: delivery.endpointId, eventId: delivery.eventId, attempts: delivery.attempts + 1 });
      if (outcome.state !== 'DELIVERED') return releaseClaims(this.db, deliveries.slice(n + 1));
    }
  }

  private async attempt(delivery: ClaimedDelivery): Promise<AttemptOutcome> {
    const { eventId, type, eventCreatedAtMs, data } = delivery;
    const body = JSON.stringify({ id: eventId, type, createdAt: new Date(eventCreatedAtMs).toISOString(), data });
    const at = new Date();
    let statusCode: number | null = null;
    let error: string | null = null;
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = AbortSignal.any([timeout, this.stopping.signal]);
    try {
      const url = new URL(delivery.url);
      // DNS may answer otherwise than at registration: checked again, and the request pinned to what was checked.
      const addresses = this.options.allowPrivate ? undefined : await publicAddressesOf(url, signal);
      statusCode = await post(url, {
        headers: {
          'content-type': 'application/json',
          'user-agent': 'flashsale-webhooks/1',
          [SIGNATURE_HEADER]: signatureHeader(delivery.secret, body, Math.floor(at.getTime() / 1000)),
        },
        body,
        signal,
        addresses,
      });
      // A redirect is an answer, not a 2xx: it is never followed with the signed body.
      if (statusCode < 200 || statusCode > 299) error = `answered HTTP ${statusCode}`;
    } catch (cause) {
      if (this.stopping.signal.aborted) throw new Stopping();
      error = timeout.aborted ? `no answer within ${this.options.timeoutMs} ms` : failureClass(cause);
    }
    const finished = Date.now();
    const durationMs = finished - at.getTime();
    if (!error) return { at, durationMs, statusCode, error, state: 'DELIVERED' };
    const retryAt = finished + retryDelayMs(delivery.attempts + 1, this.options.retryBaseMs, Math.random());
    if (retryAt - eventCreatedAtMs > this.options.retryForMs) return { at, durationMs, statusCode, error, state: 'FAILED' };
    return { at, durationMs, statusCode, error, state: 'PENDING', nextAttemptAt: new Date(retryAt) };
  }
}

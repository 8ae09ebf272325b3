import type { FastifyBaseLogger } from 'fastify';
import type { DomainError } from './domain/errors';

/** How often a running outage is summed up in the log. */
const SUMMARY_INTERVAL_MS = 1000;

/**
 * What the log says of requests answered 503 because Redis (or Postgres) did not answer: one line
 * when the outage starts, a summary at most once a second (how many requests got 503), and one
 * when the engine answers again. A stack per request would bury the log (a 4.5 s outage under 40
 * clients wrote 3,925 lines, 4.3 MB) and say nothing the first line does not.
 */
export class OutageLog {
  log?: Pick<FastifyBaseLogger, 'warn' | 'info'>;
  private startedAt = 0;
  private failedSinceSummary = 0;
  private failedInOutage = 0;
  private timer?: NodeJS.Timeout;

  /** `probe` resolves once what failed answers again (Redis TIME, a Postgres select). */
  constructor(private readonly probe: () => Promise<unknown>) {}

  /** A request was answered 503 with `failure`. */
  failed(failure: DomainError): void {
    this.failedSinceSummary++;
    this.failedInOutage++;
    if (this.timer) return;
    this.startedAt = Date.now();
    this.log?.warn({ cause: causeText(failure) }, `outage: ${failure.message}; answering 503 until it ends`);
    this.timer = setInterval(() => void this.tick(), SUMMARY_INTERVAL_MS).unref();
  }

  /** Stops the summaries (the engine is stopping). */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    if (this.failedSinceSummary > 0) {
      this.log?.warn(`outage for ${seconds} s: ${this.failedSinceSummary} requests answered 503 in the last second`);
      this.failedSinceSummary = 0;
    }
    const answering = await this.probe().then(() => true, () => false);
    if (!answering || !this.timer) return;
    this.log?.info(`outage over after ${seconds} s: ${this.failedInOutage} requests were answered 503`);
    this.close();
    this.failedInOutage = 0;
    this.failedSinceSummary = 0;
  }
}

/** The first line of what caused a failure, without its stack. */
function causeText(failure: DomainError): string | undefined {
  const cause = failure.cause;
  return cause instanceof Error ? cause.message : cause === undefined ? undefined : String(cause);
}

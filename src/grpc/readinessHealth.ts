import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { INVENTORY_SERVICE } from './protoFiles';

/** How often readiness is checked for the health service (the engine's data watch checks every second too). */
const CHECK_INTERVAL_MS = 1000;

/**
 * The standard gRPC health service (grpc.health.v1.Health), answering from the same readiness as
 * GET /ready: SERVING while Redis and Postgres answer, the scripts are loaded and Redis is not
 * being rebuilt, NOT_SERVING otherwise and once the server is stopping. Both the server as a whole
 * ("") and flashsale.v1.Inventory are reported.
 */
export class ReadinessHealth {
  readonly service = new HealthImplementation({ '': 'NOT_SERVING', [INVENTORY_SERVICE]: 'NOT_SERVING' });
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly checkReady: () => Promise<void>) {}

  /** Checks once now, then every CHECK_INTERVAL_MS until stop(). */
  async start(): Promise<void> {
    await this.check();
    if (!this.stopped) this.timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.report('NOT_SERVING');
  }

  private async check(): Promise<void> {
    const ready = await this.checkReady().then(
      () => true,
      () => false,
    );
    if (!this.stopped) this.report(ready ? 'SERVING' : 'NOT_SERVING');
  }

  private report(status: ServingStatus): void {
    this.service.setStatus('', status);
    this.service.setStatus(INVENTORY_SERVICE, status);
  }
}

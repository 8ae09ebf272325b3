import type { DomainError } from '../domain/errors';
import type { Reservation } from '../domain/reservation';
import type { SkuSettings, SkuView } from '../domain/sku';
import type { Ticket } from '../domain/line';
import { AdminOperations } from './adminOperations';
import { BucketRoutes } from './bucketRoutes';
import { LineOperations, type TicketOutcome } from './lineOperations';
import type { RedisStore } from './redisStore';
import { ReservationOperations, type FinishOutcome } from './reservationOperations';
import { type EngineObserver, type ReserveCommand, type ReserveOutcome, ReserveOperations } from './reserveOperations';
import { SoldOutWatch } from './soldOutWatch';
import { SpanningReservations } from './spanning';
import { StockReads } from './stockReads';

export type { EngineObserver, FinishOutcome, ReserveCommand, ReserveOutcome, TicketOutcome };

/**
 * What the API does with stock, one object for the services to hold: holding stock
 * (reserveOperations.ts), what follows a hold (reservationOperations.ts), the admin's changes
 * (adminOperations.ts), reads (stockReads.ts) and waiting lines (lineOperations.ts). Each job lives in its own file; this one only
 * puts them together.
 */
export class StockEngine {
  private readonly reserves: ReserveOperations;
  private readonly reservations: ReservationOperations;
  private readonly reads: StockReads;
  private readonly admin: AdminOperations;
  private readonly lines: LineOperations;
  /** Reserves of SKUs seen sold out (joins of lines sold out for good), refused without a round trip; watched while the HTTP app runs. */
  readonly soldOut: SoldOutWatch;
  /** Which SKUs are split into buckets, as learnt from the scripts (bucketRoutes.ts). */
  private readonly routes: BucketRoutes;

  constructor(private readonly store: RedisStore) {
    const spanning = new SpanningReservations(store);
    this.routes = new BucketRoutes();
    this.soldOut = new SoldOutWatch(store, this.routes);
    this.reserves = new ReserveOperations(store, spanning, this.soldOut, this.routes);
    this.reservations = new ReservationOperations(store, spanning);
    this.reads = new StockReads(store);
    this.admin = new AdminOperations(store, this.reads);
    this.lines = new LineOperations(store, this.reservations, this.soldOut);
  }

  set observer(observer: EngineObserver | undefined) {
    this.reserves.observer = observer;
  }

  /** `draw` picks the bucket of a split SKU without a per-user limit (bucketRoutes.ts): this turn's when left out. */
  reserve(request: ReserveCommand, abandoned?: () => boolean, draw?: number | null): Promise<ReserveOutcome> {
    return this.reserves.reserve(request, abandoned, draw);
  }

  /** The refusal of a reserve of a SKU seen sold out, told without a round trip; undefined when Redis must be asked. */
  knownRefusal(request: ReserveCommand): DomainError | undefined {
    return this.reserves.knownRefusal(request);
  }

  /** Stops retrying the undo of reserves answered 503; returns how many are left to expire. */
  close(): Promise<number> {
    return this.reserves.close();
  }

  getReservation(id: string): Promise<Reservation | null> {
    return this.reservations.getReservation(id);
  }

  commit(id: string): Promise<FinishOutcome | null> {
    return this.mayReturnUnits(id, this.reservations.commit(id));
  }

  async release(id: string): Promise<FinishOutcome | null> {
    const outcome = await this.mayReturnUnits(id, this.reservations.release(id));
    if (outcome) this.soldOut.forget(outcome.reservation.items.map((item) => item.sku));
    return outcome;
  }

  extend(id: string, ttlSeconds: number): Promise<Reservation | null> {
    return this.mayReturnUnits(id, this.reservations.extend(id, ttlSeconds));
  }

  setStock(sku: string, settings: SkuSettings, actor: string, options?: Parameters<AdminOperations['setStock']>[3]): ReturnType<AdminOperations['setStock']> {
    return this.changesStock(sku, this.admin.setStock(sku, settings, actor, options));
  }

  adjustStock(sku: string, delta: number, reason: string, actor: string, location?: string): Promise<SkuView> {
    return this.changesStock(sku, this.admin.adjustStock(sku, delta, reason, actor, location));
  }

  /**
   * A commit, release or extend refused (the hold had expired: the script swept it) or left in
   * doubt may have given units back, of SKUs its answer does not name: its partition is asked again.
   */
  private async mayReturnUnits<T>(id: string, finishing: Promise<T>): Promise<T> {
    try {
      return await finishing;
    } catch (error) {
      this.soldOut.forgetPartition(this.store.keys.partitionOfReservation(id));
      throw error;
    }
  }

  private async changesStock<T>(sku: string, changing: Promise<T>): Promise<T> {
    try {
      return await changing;
    } finally {
      this.soldOut.forget([sku]);
    }
  }

  getSku(sku: string): Promise<SkuView | null> {
    return this.reads.getSku(sku);
  }

  getSkus(skus: readonly string[]): Promise<(SkuView | null)[]> {
    return this.reads.getSkus(skus);
  }

  getSkuStates(skus: readonly string[]): ReturnType<StockReads['getSkuStates']> {
    return this.reads.getSkuStates(skus);
  }

  getSkuVersions(skus: readonly string[]): Promise<(number | null)[]> {
    return this.reads.getSkuVersions(skus);
  }

  /** Each bucket of a split SKU as a refill counts it (src/services/bucketRefills.ts). */
  bucketCounts(names: readonly string[]): ReturnType<StockReads['bucketCounts']> {
    return this.reads.bucketCounts(names);
  }

  /** Buckets a SKU is known to be split into (1: not known split): src/redis/bucketRoutes.ts. */
  bucketsOf(sku: string): number {
    return this.routes.bucketsOf(sku);
  }

  /** The draw that picks the buckets of this reserve's split SKUs (bucketRoutes.ts). */
  bucketDraw(request: ReserveCommand): number | null {
    return this.reserves.drawFor(request);
  }

  /** Whether a split SKU's reserves go to their draw's bucket, not their user's (no per-user limit): bucketRoutes.ts. */
  bucketsSpread(sku: string): boolean {
    return this.routes.spreads(sku);
  }

  /** The bucket a reserve of `sku` by this user with this draw goes to (bucketRoutes.ts). */
  bucketFor(sku: string, userId: string, draw: number | null): string {
    return this.routes.bucketFor(sku, userId, draw);
  }

  /** The refusal of a join of a line seen sold out for good, told without a round trip; undefined when Redis must be asked. */
  knownJoinRefusal(sku: string, userId: string, qty: number): DomainError | undefined {
    return this.lines.knownRefusal(sku, userId, qty);
  }

  joinLine(sku: string, userId: string, qty: number, orderId: string | null): Promise<TicketOutcome> {
    return this.lines.join(sku, userId, qty, orderId);
  }

  getTicket(id: string): Promise<Ticket | null> {
    return this.lines.read(id);
  }

  leaveLine(id: string): Promise<TicketOutcome> {
    return this.lines.leave(id);
  }

  dueLines(partition: number, beforeMs: number, limit: number): Promise<string[]> {
    return this.lines.dueLines(partition, beforeMs, limit);
  }

  /** Redis server time in ms: the clock that decides expiry. */
  redisTimeMs(): Promise<number> {
    return this.reads.redisTimeMs();
  }

  /** With REDIS_WAIT_REPLICAS, 503 while a master has fewer replicas online than it asks for. */
  assertReplicasOnline(): Promise<void> {
    return this.store.assertReplicasOnline();
  }
}

import { DomainError } from '../domain/errors';
import { parseBucketSku } from '../domain/buckets';
import { newReservationId } from '../domain/ids';
import { type RequestedLine, type Reservation, toLine } from '../domain/reservation';
import { lineRequired } from '../domain/refusals';
import { decodeHoldUnits } from './holdUnits';
import { bindingFingerprint } from './idempotencyBinding';
import { IN_DOUBT } from './inDoubt';
import { type BucketRoutes, WrongBucketError } from './bucketRoutes';
import { allPartitions } from './partitions';
import type { Doubt, RedisStore } from './redisStore';
import { ReplyCode, refusal } from './replyCodes';
import { Batcher } from './reserveBatcher';
import { type ReserveArgument, abandonCall, idemClaimCall, idemRevokeCall, idemSettleCall, reserveCall } from './scriptCalls';
import { type SoldOutQuestion, SoldOutWatch } from './soldOutWatch';
import { SpanningReservations } from './spanning';
import { type UndoOutcome, UnconfirmedReserves } from './unconfirmedReserves';

export interface ReserveCommand {
  userId: string;
  orderId: string | null;
  lines: RequestedLine[];
  ttlSeconds: number;
  allowPartial: boolean;
  /** Present when the request carried an Idempotency-Key: its digest, and the request body's. */
  idempotency?: { keyHash: string; bodyDigest: string };
}

export type ReserveOutcome =
  | { kind: 'created'; reservation: Reservation }
  | { kind: 'replayed'; reservationId: string };

/** Told of the engine's own repairs, for metrics and the log. */
export interface EngineObserver {
  /** Reserves answered 503 whose script may have run, once settled (see unconfirmedReserves.ts). */
  reservesUndone(outcome: UndoOutcome, reservationIds: string[]): void;
}

type Reply = (string | number)[];

/**
 * A reserve on its way to the script: its id names its home partition, where all its lines are;
 * `keyHere` when its Idempotency-Key lives there too (else it was claimed in its user's partition).
 */
type QueuedReserve = ReserveCommand & { id: string; keyHere: boolean; spans: boolean };

const soldOutQuestion = (request: ReserveCommand): SoldOutQuestion => ({ userId: request.userId, lines: request.lines, allowPartial: request.allowPartial, keyed: request.idempotency !== undefined });

/** lua/abandon.lua's reply for a reservation a retry was answered with. */
const ABANDON_KEPT_REPLAYED = 2;

/** How many times a reserve is routed to a split SKU's bucket before it gives up (a count changing under it each time). */
const MAX_ROUTINGS = 4;

/** Reserve requests folded into one script call at most (bounds one script run's time). */
const MAX_RESERVE_BATCH = 128;

/**
 * ISO text of a Redis time, keeping the last one: the reserves of one batch share their creation
 * time (and, with the same ttl, their expiry), and formatting a date is a measurable part of the
 * per-request work.
 */
class IsoTimeCache {
  private ms = Number.NaN;
  private text = '';

  of(ms: number): string {
    if (ms !== this.ms) {
      this.ms = ms;
      this.text = new Date(ms).toISOString();
    }
    return this.text;
  }
}

/**
 * Holding stock: reserves folded per partition into one script call, Idempotency-Keys claimed
 * and settled, reserves spanning partitions, and the undo of reserves nobody received.
 */
export class ReserveOperations {
  /** Per partition, the batcher that folds its reserves into one script call. */
  private readonly reserveBatchers: Batcher<QueuedReserve, Reply>[];
  private readonly createdAtText = new IsoTimeCache();
  private readonly expiresAtText = new IsoTimeCache();
  /**
   * Per home partition, the reserves answered 503 that may have run: a partition's are undone
   * before its next reserve, so a shard that is down holds back its own partitions only.
   */
  private readonly unconfirmed: UnconfirmedReserves<QueuedReserve>[];
  observer?: EngineObserver;

  constructor(
    private readonly store: RedisStore,
    private readonly spanning: SpanningReservations,
    private readonly soldOut: SoldOutWatch,
    /** The bucket of each split SKU a user's reserves go to (bucketRoutes.ts). */
    private readonly bucketRoutes: BucketRoutes,
  ) {
    this.unconfirmed = allPartitions(store.keys.partitions).map(
      () =>
        new UnconfirmedReserves<QueuedReserve>(
          (command) => this.abandon(command),
          (outcome, commands) => this.observer?.reservesUndone(outcome, commands.map((command) => command.id)),
        ),
    );
    this.reserveBatchers = allPartitions(store.keys.partitions).map(() => new Batcher<QueuedReserve, Reply>((commands) => this.reserveMany(commands), MAX_RESERVE_BATCH));
  }

  /**
   * The refusal of a reserve of a SKU seen sold out (soldOutWatch.ts), told without a round trip
   * and before any other work; undefined when Redis must be asked. 503 while its partition is lost.
   */
  knownRefusal(request: ReserveCommand): DomainError | undefined {
    const question = soldOutQuestion(request);
    const line = SoldOutWatch.soleLine(question);
    if (!line) return undefined;
    this.store.assertServing(this.store.keys.partitionOfSku(line.sku));
    return this.soldOut.refusal(question);
  }

  /**
   * Holds stock; concurrent calls of one partition are folded into one script call (see
   * reserveBatcher.ts). The reservation is homed in the partition of its lines. `abandoned`, when
   * given, is asked once the hold is made: a caller gone by then (its connection closed, a gRPC
   * deadline passed) never learns the reservation, so it is undone like a reserve answered 503,
   * unless a retry with its key was answered with it.
   */
  async reserve(request: ReserveCommand, abandoned?: () => boolean, draw = this.drawFor(request)): Promise<ReserveOutcome> {
    // A split SKU's line goes to the bucket of its user or its draw (bucketRoutes.ts); a script
    // that knows better says so, once per count it learnt (a SKU's buckets only grow).
    for (let attempt = 1; ; attempt++) {
      const lines = this.bucketRoutes.route(request.lines, request.userId, draw);
      try {
        return await this.reserveRouted(lines === request.lines ? request : { ...request, lines: lines as RequestedLine[] }, abandoned);
      } catch (error) {
        if (!(error instanceof WrongBucketError) || attempt === MAX_ROUTINGS) throw error;
        this.bucketRoutes.learn(error.sku, error.buckets, true);
      }
    }
  }

  /** The draw that picks a split SKU's bucket for this reserve: null (its user's) when keyed (bucketRoutes.ts). */
  drawFor(request: ReserveCommand): number | null {
    return request.idempotency ? null : this.bucketRoutes.draw();
  }

  private async reserveRouted(request: ReserveCommand, abandoned?: () => boolean): Promise<ReserveOutcome> {
    const { keys } = this.store;
    const home = keys.partitionOfSku(request.lines[0].sku);
    this.store.assertServing(home);
    const refused = this.knownRefusal(request);
    if (refused) throw refused;
    const spans = this.spanning.partsOf(request.lines, home).length > 0;
    const { idempotency, userId } = request;
    const keyHere = !spans && (!idempotency || keys.partitionOfUser(userId) === home);
    // Fields copied one by one: a spread with added fields takes V8's slow path (microseconds a reserve).
    const { orderId, lines, ttlSeconds, allowPartial } = request;
    const command: QueuedReserve = { userId, orderId, lines, ttlSeconds, allowPartial, idempotency, id: newReservationId(home), keyHere, spans };
    const outcome = !idempotency || keyHere ? await this.reserveIn(command) : await this.reserveClaimed(command, idempotency);
    if (outcome.kind === 'created' && abandoned?.()) this.unconfirmedOf(command).add([command]);
    return outcome;
  }

  /** Stops retrying the undo of reserves answered 503; returns how many are left to expire. */
  async close(): Promise<number> {
    const left = await Promise.all(this.unconfirmed.map((unconfirmed) => unconfirmed.close()));
    return left.reduce((sum, count) => sum + count, 0);
  }

  /**
   * A keyed reserve whose key lives in its user's partition (or whose holds span several): the
   * key is claimed there first, and bound once the holds are made.
   */
  private async reserveClaimed(command: QueuedReserve, idempotency: NonNullable<ReserveCommand['idempotency']>): Promise<ReserveOutcome> {
    const { keys } = this.store;
    const { userId } = command;
    const key = keys.idempotency(userId, idempotency.keyHash);
    const fingerprint = bindingFingerprint(idempotency.keyHash, idempotency.bodyDigest);
    this.store.assertServing(keys.partitionOfUser(userId));
    // Whatever happens to the claim from here on, a 503 lets go of it once Redis answers (and
    // undoes any hold made), unless a retry was answered with the reservation meanwhile.
    const undoOnDoubt: Doubt = { consequence: IN_DOUBT.reserve, onDoubt: () => this.unconfirmedOf(command).add([command]) };
    const [claim, replayOf] = await this.store.run<Reply>(idemClaimCall(key, fingerprint, command.id), undoOnDoubt);
    if (claim === ReplyCode.Repeated) return { kind: 'replayed', reservationId: String(replayOf) };
    if (claim !== ReplyCode.Ok) throw refusal(claim as ReplyCode);
    const settle = (bind: boolean, doubt?: Doubt) => this.store.run(idemSettleCall(this.store, key, fingerprint, command.id, bind), doubt);
    let outcome: ReserveOutcome;
    try {
      outcome = await this.reserveIn(command);
    } catch (error) {
      // A refusal binds nothing.
      if (!(error instanceof DomainError && error.code === 'UNAVAILABLE')) await settle(false);
      else this.unconfirmedOf(command).add([command]);
      throw error;
    }
    await settle(true, undoOnDoubt);
    return outcome;
  }

  /**
   * Holds a reserve: in its home partition, folded with that partition's others into one script
   * call; or, when its lines span partitions, partition by partition (spanning.ts).
   */
  private async reserveIn(command: QueuedReserve): Promise<ReserveOutcome> {
    const home = this.store.keys.partitionOfReservation(command.id);
    const basis = this.soldOut.basis(command.lines[0].sku);
    const reply = command.spans ? await this.reserveSpanning(command) : await this.reserveBatchers[home].submit(command);
    const code = reply[0] as ReplyCode;
    // The line a refusal names, by the SKU's own name (a split SKU's line names its bucket here).
    const refusedLine = () => {
      const line = command.lines[(reply[1] as number) - 1];
      return { ...line, sku: parseBucketSku(line.sku).sku };
    };
    switch (code) {
      case ReplyCode.Ok:
        // A split SKU is watched while it still sells (a bucket's refusal starts the watch).
        this.forgetSkusOf(command);
        return {
          kind: 'created',
          reservation: {
            id: command.id,
            status: 'PENDING',
            userId: command.userId,
            orderId: command.orderId,
            items: command.lines.map((line, n) => {
              const { units, allocations } = decodeHoldUnits(this.unitsOf(line, reply[3 + n]));
              return toLine(line.sku, line.qty, units, allocations);
            }),
            createdAt: this.createdAtText.of(reply[1] as number),
            expiresAt: this.expiresAtText.of(reply[2] as number),
          },
        };
      case ReplyCode.Repeated:
        return { kind: 'replayed', reservationId: String(reply[1]) };
      case ReplyCode.SkuNotFound:
        await this.store.confirmNotFound(home);
        throw refusal(code, { sku: refusedLine().sku });
      case ReplyCode.SaleNotActive:
        throw refusal(code, { sku: refusedLine().sku });
      case ReplyCode.LocationNotFound:
        throw refusal(code, refusedLine());
      case ReplyCode.LineRequired:
        throw lineRequired(refusedLine().sku);
      case ReplyCode.WrongBucket:
        throw new WrongBucketError(refusedLine().sku, reply[2] as number);
      case ReplyCode.PurchaseLimitExceeded: {
        const line = refusedLine();
        throw refusal(code, { sku: line.sku, requested: line.qty, alreadyHeld: reply[2], limit: reply[3] });
      }
      case ReplyCode.InsufficientStock: {
        // Read first: a bucket's refusal tells how many buckets its SKU has, which the watch needs.
        const items = command.lines
          .map((line, n) => ({ sku: parseBucketSku(line.sku).sku, ...(line.location === undefined ? {} : { location: line.location }), requested: line.qty, available: this.shortOf(line, reply[1 + n]) }))
          .filter((line) => line.available < line.requested);
        this.soldOut.learn(soldOutQuestion(command), basis);
        throw refusal(code, { items });
      }
      default:
        throw refusal(code);
    }
  }

  /** One call of the reserve script for a partition's batch of requests. */
  private async reserveMany(commands: QueuedReserve[]): Promise<Reply[]> {
    const { keys } = this.store;
    const partition = keys.partitionOfReservation(commands[0].id);
    // Reserves answered 503 earlier are undone first: nobody may replay them meanwhile.
    const unconfirmed = this.unconfirmed[partition];
    if (unconfirmed.size) await this.store.call(() => unconfirmed.settle());
    return this.store.run<Reply[]>(reserveCall(this.store, partition, commands.map((command) => this.reserveArgument(command))), {
      consequence: IN_DOUBT.reserve,
      onDoubt: () => unconfirmed.add(commands),
    });
  }

  private reserveArgument(command: QueuedReserve): ReserveArgument {
    const { idempotency } = command;
    if (!idempotency) return command as ReserveArgument;
    const key = this.store.keys.idempotency(command.userId, idempotency.keyHash);
    return { ...command, idempotency: { key, fingerprint: bindingFingerprint(idempotency.keyHash, idempotency.bodyDigest), here: command.keyHere } };
  }

  private async reserveSpanning(command: QueuedReserve): Promise<Reply> {
    const { idempotency } = command;
    const fingerprint = idempotency ? bindingFingerprint(idempotency.keyHash, idempotency.bodyDigest) : '';
    try {
      const reply = await this.spanning.reserve({ ...command, fingerprint });
      // A refused spanning reserve gave back the units it had held in other partitions.
      if (reply[0] !== ReplyCode.Ok) this.forgetSkusOf(command);
      return reply;
    } catch (error) {
      this.forgetSkusOf(command);
      // A piece may have run without its answer: undone once Redis answers, like any reserve.
      if (error instanceof DomainError && error.code === 'UNAVAILABLE') this.unconfirmedOf(command).add([command]);
      throw error;
    }
  }

  /**
   * Undoes one reserve answered 503 (lua/abandon.lua, and each other partition of a spanning one).
   * A key claimed in its user's partition is let go first (lua/idem_revoke.lua), unless a retry
   * was answered with the reservation: then a client knows it, and it is kept.
   */
  private async abandon(command: QueuedReserve): Promise<UndoOutcome> {
    const { keys } = this.store;
    const partition = keys.partitionOfReservation(command.id);
    const { idempotency } = command;
    const key = idempotency && keys.idempotency(command.userId, idempotency.keyHash);
    if (idempotency && key && !command.keyHere) {
      const [kept] = await this.store.run<number[]>(idemRevokeCall(key, bindingFingerprint(idempotency.keyHash, idempotency.bodyDigest), command.id));
      if (kept === 1) return 'replayed';
    }
    const [code] = await this.store.run<number[]>(abandonCall(this.store, command.id, command.keyHere ? key : undefined));
    if (command.spans && code !== ReplyCode.Repeated) {
      await this.spanning.finishParts(command.id, 'RELEASED', this.spanning.partsOf(command.lines, partition), partition);
    }
    this.forgetSkusOf(command);
    if (code === ReplyCode.ReservationNotFound) return 'not_applied';
    return code === ReplyCode.Ok ? 'released' : code === ABANDON_KEPT_REPLAYED ? 'replayed' : 'committed';
  }

  /** A line's available units in a refusal (its units, split: a bucket's, learnt from). */
  private shortOf(line: RequestedLine, available: unknown): number {
    return Math.max(0, this.unitsOf(line, available) as number);
  }

  /**
   * A line's units in a reply: a bucket of a split SKU also tells its count and whether it is
   * under a per-user limit ({units, buckets, limited}), learnt here for routing (bucketRoutes.ts).
   */
  private unitsOf(line: RequestedLine, units: unknown): number | string {
    if (!Array.isArray(units)) return units as number | string;
    this.bucketRoutes.learn(parseBucketSku(line.sku).sku, units[1] as number, units[2] === 1);
    return units[0] as number;
  }

  private forgetSkusOf(command: QueuedReserve): void {
    if (this.soldOut.watching) this.soldOut.forget(command.lines.map((line) => line.sku));
  }

  private unconfirmedOf(command: QueuedReserve): UnconfirmedReserves<QueuedReserve> {
    return this.unconfirmed[this.store.keys.partitionOfReservation(command.id)];
  }
}

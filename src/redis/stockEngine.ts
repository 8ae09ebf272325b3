import { DomainError } from '../domain/errors';
import { type RequestedLine, type Reservation, toLine, MAX_LIFETIME_SECONDS } from '../domain/reservation';
import { MAX_TOTAL, type SkuSettings, type SkuView } from '../domain/sku';
import { locationRequired, skuNotFound } from '../domain/refusals';
import { newReservationId } from '../domain/ids';
import { decodeHoldUnits } from './holdUnits';
import { bindingFingerprint } from './idempotencyBinding';
import { allPartitions } from './partitions';
import type { Doubt, RedisStore } from './redisStore';
import { ReplyCode, refusal } from './replyCodes';
import { decodeReservationRecord, reservationOf } from './reservationRecord';
import { Batcher } from './reserveBatcher';
import { SpanningReservations } from './spanning';
import { type UndoOutcome, UnconfirmedReserves } from './unconfirmedReserves';
import { type LocationCounterRow, defaultLevel, levelsOfRows, skuViewOf } from './stockHash';

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

/** A commit or release: the reservation as it now stands, and whether this call changed it. */
export interface FinishOutcome {
  reservation: Reservation;
  changed: boolean;
}

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

/** How long a claimed Idempotency-Key stays claimed when its request dies before settling it. */
export const CLAIM_TTL_MS = 30_000;

/** lua/abandon.lua's reply for a reservation a retry was answered with. */
const ABANDON_KEPT_REPLAYED = 2;

/** Reserve requests folded into one script call at most (bounds one script run's time). */
const MAX_RESERVE_BATCH = 128;

/** What a client learns from a 503 of each kind of call, when the call may have reached Redis. */
const IN_DOUBT = {
  reserve: 'nothing was held (a hold made after the reply was given up on is released). Retry shortly',
  finish: 'it may or may not have taken effect: retry it (it is idempotent) to learn which',
  admin: 'the change may or may not have been applied: read the SKU before retrying',
} as const;


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
 * What the API does with stock: reserve, commit, release, extend, read, and the admin's set and
 * adjust. Builds every script call's KEYS from RedisKeys in the order its header states, and
 * turns replies into domain values or DomainErrors.
 */
export class StockEngine {
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
  private readonly spanning: SpanningReservations;

  constructor(private readonly store: RedisStore) {
    this.spanning = new SpanningReservations(store);
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
   * Holds stock; concurrent calls of one partition are folded into one script call (see
   * reserveBatcher.ts). The reservation is homed in the partition of its lines. `abandoned`, when
   * given, is asked once the hold is made: a caller gone by then (a gRPC deadline passed) never
   * learns the reservation, so it is undone like a reserve answered 503, unless a retry with its
   * key was answered with it.
   */
  async reserve(request: ReserveCommand, abandoned?: () => boolean): Promise<ReserveOutcome> {
    const { keys } = this.store;
    const home = keys.partitionOfSku(request.lines[0].sku);
    const spans = this.spanning.partsOf(request.lines, home).length > 0;
    this.store.assertServing(home);
    const { idempotency, userId } = request;
    const keyHere = !spans && (!idempotency || keys.partitionOfUser(userId) === home);
    const command: QueuedReserve = { ...request, id: newReservationId(home), keyHere, spans };
    const outcome = !idempotency || keyHere ? await this.reserveIn(command) : await this.reserveClaimed(command, idempotency);
    if (outcome.kind === 'created' && abandoned?.()) this.unconfirmedOf(command).add([command]);
    return outcome;
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
    const [claim, replayOf] = await this.store.runScript<Reply>('idem_claim', [key], [fingerprint, CLAIM_TTL_MS, command.id], undoOnDoubt);
    if (claim === ReplyCode.Repeated) return { kind: 'replayed', reservationId: String(replayOf) };
    if (claim !== ReplyCode.Ok) throw refusal(claim as ReplyCode);
    const settle = (bind: boolean, doubt?: Doubt) =>
      this.store.runScript('idem_settle', [key], [fingerprint, command.id, this.store.tuning.idempotencyTtlSeconds * 1000, bind ? 1 : 0], doubt);
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
    const reply = command.spans ? await this.reserveSpanning(command) : await this.reserveBatchers[home].submit(command);
    const code = reply[0] as ReplyCode;
    switch (code) {
      case ReplyCode.Ok:
        return {
          kind: 'created',
          reservation: {
            id: command.id,
            status: 'PENDING',
            userId: command.userId,
            orderId: command.orderId,
            items: command.lines.map((line, n) => {
              const { units, allocations } = decodeHoldUnits(reply[3 + n] as number | string);
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
        throw refusal(code, { sku: command.lines[(reply[1] as number) - 1].sku });
      case ReplyCode.SaleNotActive:
        throw refusal(code, { sku: command.lines[(reply[1] as number) - 1].sku });
      case ReplyCode.LocationNotFound:
        throw refusal(code, command.lines[(reply[1] as number) - 1]);
      case ReplyCode.PurchaseLimitExceeded: {
        const line = command.lines[(reply[1] as number) - 1];
        throw refusal(code, { sku: line.sku, requested: line.qty, alreadyHeld: reply[2], limit: reply[3] });
      }
      case ReplyCode.InsufficientStock:
        throw refusal(code, {
          items: command.lines
            .map((line, n) => ({ sku: line.sku, ...(line.location === undefined ? {} : { location: line.location }), requested: line.qty, available: Math.max(0, reply[1 + n] as number) }))
            .filter((line) => line.available < line.requested),
        });
      default:
        throw refusal(code);
    }
  }

  /**
   * One call of the reserve script for several requests (KEYS and ARGV as its header states): each
   * distinct SKU's keys are passed once, and the requests name their SKUs by number.
   */
  private async reserveMany(commands: QueuedReserve[]): Promise<Reply[]> {
    const { keys, tuning } = this.store;
    const partition = keys.partitionOfReservation(commands[0].id);
    const skuNumbers = new Map<string, number>();
    const skuKeys: string[] = [];
    const requestKeys: string[] = [];
    const requestArgs: string[] = [];
    for (const command of commands) {
      requestKeys.push(keys.reservation(command.id));
      const { idempotency } = command;
      if (idempotency && command.keyHere) requestKeys.push(keys.idempotency(command.userId, idempotency.keyHash));
      let lines = '';
      for (const line of command.lines) {
        let number = skuNumbers.get(line.sku);
        if (number === undefined) {
          number = skuNumbers.size + 1;
          skuNumbers.set(line.sku, number);
          skuKeys.push(keys.stock(line.sku), keys.expiry(line.sku), keys.buyers(line.sku));
        }
        lines += `${lines ? ',' : ''}${number}:${line.qty}${line.location === undefined ? '' : `@${line.location}`}`;
      }
      // One "|"-joined argument per request (see the script's header); ids never contain "|".
      const fingerprint = idempotency ? `${command.keyHere ? '+' : ''}${bindingFingerprint(idempotency.keyHash, idempotency.bodyDigest)}` : '';
      requestArgs.push(`${command.id}|${command.userId}|${command.orderId ?? ''}|${command.ttlSeconds * 1000}|${command.allowPartial ? 1 : 0}|${fingerprint}|${lines}`);
    }
    const settings = [tuning.idempotencyTtlSeconds * 1000, tuning.recordRetentionSeconds * 1000, tuning.lazySweepLimit, skuNumbers.size, commands.length];
    // Reserves answered 503 earlier are undone first: nobody may replay them meanwhile.
    const unconfirmed = this.unconfirmed[partition];
    if (unconfirmed.size) await this.store.call(() => unconfirmed.settle());
    return this.store.runScript<Reply[]>('reserve', [keys.outbox(partition), keys.sweepDue(partition), ...skuKeys, ...requestKeys], [...settings, ...skuNumbers.keys(), ...requestArgs], {
      consequence: IN_DOUBT.reserve,
      onDoubt: () => unconfirmed.add(commands),
    });
  }

  private async reserveSpanning(command: QueuedReserve): Promise<Reply> {
    const { idempotency } = command;
    const fingerprint = idempotency ? bindingFingerprint(idempotency.keyHash, idempotency.bodyDigest) : '';
    try {
      return await this.spanning.reserve({ ...command, fingerprint });
    } catch (error) {
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
    if (idempotency && !command.keyHere) {
      const key = keys.idempotency(command.userId, idempotency.keyHash);
      const [kept] = await this.store.runScript<number[]>('idem_revoke', [key], [bindingFingerprint(idempotency.keyHash, idempotency.bodyDigest), command.id]);
      if (kept === 1) return 'replayed';
    }
    const callKeys = [keys.reservation(command.id), keys.outbox(partition), keys.spanning(partition)];
    if (command.idempotency && command.keyHere) callKeys.push(keys.idempotency(command.userId, command.idempotency.keyHash));
    const [code] = await this.store.runScript<number[]>('abandon', callKeys, [command.id, ...this.store.finishArgs(partition)]);
    if (command.spans && code !== ReplyCode.Repeated) {
      await this.spanning.finishParts(command.id, 'RELEASED', this.spanning.partsOf(command.lines, partition), partition);
    }
    if (code === ReplyCode.ReservationNotFound) return 'not_applied';
    return code === ReplyCode.Ok ? 'released' : code === ABANDON_KEPT_REPLAYED ? 'replayed' : 'committed';
  }

  /** Stops retrying the undo of reserves answered 503; returns how many are left to expire. */
  async close(): Promise<number> {
    const left = await Promise.all(this.unconfirmed.map((unconfirmed) => unconfirmed.close()));
    return left.reduce((sum, count) => sum + count, 0);
  }

  private unconfirmedOf(command: QueuedReserve): UnconfirmedReserves<QueuedReserve> {
    return this.unconfirmed[this.store.keys.partitionOfReservation(command.id)];
  }

  /** Returns the reservation, or null when Redis no longer has it (Postgres may). */
  async getReservation(id: string): Promise<Reservation | null> {
    const partition = this.store.keys.partitionOfReservation(id);
    this.store.assertServing(partition);
    const reply = await this.store.runScript<Reply>('get_reservation', [this.store.keys.reservation(id)], []);
    if (reply[0] === ReplyCode.ReservationNotFound) return this.notFound(partition);
    return reservationOf(id, decodeReservationRecord(String(reply[1])), Number(reply[2]));
  }

  /** Commits; a repeat answers the committed reservation again and changes nothing. */
  async commit(id: string): Promise<FinishOutcome | null> {
    const reply = await this.finish('commit', id);
    if (reply === null) return null;
    if (reply[0] !== ReplyCode.Ok && reply[0] !== ReplyCode.Repeated) throw refusal(reply[0] as ReplyCode);
    return { reservation: await this.reservationIn(id, reply), changed: reply[0] === ReplyCode.Ok };
  }

  /** Releases; a repeat, or a reservation that had expired, answers with its status. */
  async release(id: string): Promise<FinishOutcome | null> {
    const reply = await this.finish('release', id);
    if (reply === null) return null;
    if (reply[0] === ReplyCode.ReservationCommitted) throw refusal(ReplyCode.ReservationCommitted);
    return { reservation: await this.reservationIn(id, reply), changed: reply[0] === ReplyCode.Ok };
  }

  async extend(id: string, ttlSeconds: number): Promise<Reservation | null> {
    const { keys } = this.store;
    const partition = keys.partitionOfReservation(id);
    this.store.assertServing(partition);
    const reply = await this.store.runScript<Reply>(
      'extend',
      [keys.reservation(id), keys.outbox(partition), keys.sweepDue(partition), keys.spanning(partition)],
      [id, ttlSeconds * 1000, MAX_LIFETIME_SECONDS * 1000, ...this.store.finishArgs(partition)],
      { consequence: IN_DOUBT.finish },
    );
    if (reply[0] === ReplyCode.ReservationNotFound) return this.notFound(partition);
    const reservation = await this.reservationIn(id, reply);
    if (reply[0] !== ReplyCode.Ok) throw refusal(reply[0] as ReplyCode);
    return reservation;
  }

  /**
   * Creates or updates a SKU; `created` tells which. A SKU Postgres knows must not be created
   * anew (its SET movement would count its total twice): with `mayCreate: false`, a SKU Redis
   * lacks is refused with SKU_NOT_FOUND, to be restored first.
   */
  async setStock(sku: string, settings: SkuSettings, actor: string, { mayCreate = true } = {}): Promise<{ created: boolean; view: SkuView; version: number }> {
    const partition = this.store.keys.partitionOfSku(sku);
    this.store.assertServing(partition);
    const reply = await this.store.runScript<Reply>(
      'set_stock',
      this.skuScriptKeys(sku),
      [
        sku,
        settings.locations ? settings.locations.map(({ location, total }) => `${location}=${total}`).join(',') : settings.total,
        settings.perUserLimit ?? '',
        settings.startsAt === null ? '' : Date.parse(settings.startsAt),
        settings.endsAt === null ? '' : Date.parse(settings.endsAt),
        actor,
        this.store.tuning.lazySweepLimit,
        mayCreate ? 1 : 0,
      ],
      { consequence: IN_DOUBT.admin },
    );
    if (reply[0] === ReplyCode.SkuNotFound) {
      await this.store.confirmNotFound(partition);
      throw skuNotFound(sku);
    }
    if (reply[0] === ReplyCode.TotalBelowCommitted) {
      const [, reserved, sold, location] = reply;
      const requestedTotal = location === undefined ? settings.total : settings.locations?.find((level) => level.location === location)?.total;
      throw refusal(ReplyCode.TotalBelowCommitted, { ...(location === undefined ? {} : { location }), requestedTotal, reserved, sold });
    }
    const [code, total, available, reserved, sold, version, rows] = reply as [number, number, number, number, number, number, LocationCounterRow[]?];
    const { perUserLimit, startsAt, endsAt } = settings;
    const counters = { total, available, reserved, sold };
    const locations = rows ? levelsOfRows(rows) : [defaultLevel(counters)];
    return { created: code === 1, view: { sku, ...counters, perUserLimit, startsAt, endsAt, locations }, version };
  }

  /** Adds (or removes) units; `location` names one of a SKU's active locations (required when it has several). */
  async adjustStock(sku: string, delta: number, reason: string, actor: string, location?: string): Promise<SkuView> {
    const partition = this.store.keys.partitionOfSku(sku);
    this.store.assertServing(partition);
    const reply = await this.store.runScript<Reply>(
      'adjust_stock',
      this.skuScriptKeys(sku).slice(0, 4),
      [sku, delta, reason, actor, this.store.tuning.lazySweepLimit, MAX_TOTAL, location ?? ''],
      { consequence: IN_DOUBT.admin },
    );
    if (reply[0] === ReplyCode.InsufficientStock) {
      throw refusal(ReplyCode.InsufficientStock, { sku, ...(location === undefined ? {} : { location }), delta, available: reply[1] });
    }
    if (reply[0] === ReplyCode.LocationRequired) {
      throw locationRequired(sku, String(reply[1]).split(','));
    }
    if (reply[0] === ReplyCode.TotalTooLarge) {
      throw new DomainError('VALIDATION_FAILED', `total may not exceed ${MAX_TOTAL}.`, { sku, delta, total: reply[1] });
    }
    if (reply[0] === ReplyCode.SkuNotFound) await this.store.confirmNotFound(partition);
    if (reply[0] !== ReplyCode.Ok) throw refusal(reply[0] as ReplyCode, { sku, location });
    const view = await this.getSku(sku);
    if (!view) throw skuNotFound(sku);
    return view;
  }

  /** Reads one SKU view; null when the SKU does not exist. */
  async getSku(sku: string): Promise<SkuView | null> {
    const [view] = await this.getSkus([sku]);
    return view;
  }

  /** Reads several SKU views in one round trip; null for each SKU that does not exist. */
  async getSkus(skus: readonly string[]): Promise<(SkuView | null)[]> {
    return (await this.getSkuStates(skus)).map((state) => state?.view ?? null);
  }

  /** SKU views with the change counter they stand at (live events order changes by it); null where missing. */
  async getSkuStates(skus: readonly string[]): Promise<({ view: SkuView; version: number } | null)[]> {
    const { keys } = this.store;
    for (const sku of skus) this.store.assertServing(keys.partitionOfSku(sku));
    const hashes = await this.store.readWholeHashes(skus.map((sku) => keys.stock(sku)));
    const states = hashes.map((hash, n) => {
      const view = skuViewOf(skus[n], hash);
      return view && { view, version: Number(hash.version ?? 0) };
    });
    for (const [n, state] of states.entries()) if (!state) await this.store.confirmNotFound(keys.partitionOfSku(skus[n]));
    return states;
  }

  /**
   * Each SKU's change counter, one field read per SKU (null where the SKU is missing): the cheap
   * question live events ask ten times a second before reading a changed SKU whole.
   */
  async getSkuVersions(skus: readonly string[]): Promise<(number | null)[]> {
    const { keys } = this.store;
    for (const sku of skus) this.store.assertServing(keys.partitionOfSku(sku));
    const replies = await this.store.pipelined(skus.map((sku) => keys.stock(sku)), (pipeline, key) => pipeline.hget(key, 'version'));
    return replies.map((reply) => (reply === null ? null : Number(reply)));
  }

  /** Redis server time in ms: the clock that decides expiry. */
  redisTimeMs(): Promise<number> {
    return this.store.timeMs();
  }

  /** KEYS shared by set_stock, adjust_stock (the first four) and sweep_expired. */
  private skuScriptKeys(sku: string): string[] {
    const { keys } = this.store;
    const partition = keys.partitionOfSku(sku);
    return [keys.stock(sku), keys.expiry(sku), keys.buyers(sku), keys.outbox(partition), keys.sweepDue(partition)];
  }

  private async finish(script: 'commit' | 'release', id: string): Promise<Reply | null> {
    const { keys } = this.store;
    const partition = keys.partitionOfReservation(id);
    this.store.assertServing(partition);
    const reply = await this.store.runScript<Reply>(script, [keys.reservation(id), keys.outbox(partition), keys.spanning(partition)], [id, ...this.store.finishArgs(partition)], {
      consequence: IN_DOUBT.finish,
    });
    return reply[0] === ReplyCode.ReservationNotFound ? this.notFound(partition) : reply;
  }

  /** Not in Redis: null (Postgres may have it) unless Redis lost that partition's data (503). */
  private async notFound(partition: number): Promise<null> {
    await this.store.confirmNotFound(partition);
    return null;
  }

  /**
   * The reservation a script answered with as it now stands ({code, record text}); an end it
   * reached is carried to the other partitions of a spanning reservation first.
   */
  private async reservationIn(id: string, reply: Reply): Promise<Reservation> {
    const record = decodeReservationRecord(String(reply[1]));
    await this.spanning.afterHome(id, record);
    // Status as stored: the script itself decided expiry by Redis time.
    return reservationOf(id, record, 0);
  }
}

import { DomainError, UnavailableError } from '../domain/errors';
import { type RequestedLine, type Reservation, readStatus, toLine, MAX_LIFETIME_SECONDS } from '../domain/reservation';
import { MAX_TOTAL, type SkuSettings, type SkuView } from '../domain/sku';
import { RedisKeys } from './keys';
import { ReplyCode, refusal } from './replyCodes';
import { type IdempotencyBinding, bindingFingerprint, encodeBinding } from './idempotencyBinding';
import { encodeReservationRecord } from './reservationRecord';
import { Batcher } from './reserveBatcher';
import type { ScriptedRedis } from './scripts';
import { type UndoOutcome, UnconfirmedReserves } from './unconfirmedReserves';

export interface ReserveCommand {
  id: string;
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

export interface EngineTuning {
  recordRetentionSeconds: number;
  idempotencyTtlSeconds: number;
  lazySweepLimit: number;
}

export const DEFAULT_TUNING: EngineTuning = {
  recordRetentionSeconds: 3600,
  idempotencyTtlSeconds: 24 * 3600,
  lazySweepLimit: 100,
};

type Reply = (string | number)[];

/** Reserve requests folded into one script call at most (bounds one script run's time). */
const MAX_RESERVE_BATCH = 128;

/** A commit or release: the reservation as it now stands, and whether this call changed it. */
export interface FinishOutcome {
  reservation: Reservation;
  changed: boolean;
}

export interface StockCounters {
  total: number;
  available: number;
  reserved: number;
  sold: number;
  version: number;
}

export interface SkuRestore {
  sku: string;
  total: number;
  sold: number;
  perUserLimit: number | null;
  startsAtMs: number | null;
  endsAtMs: number | null;
  version: number;
  holds: { reservationId: string; userId: string; units: number; expiresAtMs: number }[];
  /** userId -> units held or bought of this SKU. */
  buyerUnits: [string, number][];
}

export interface ReservationRestore {
  id: string;
  userId: string;
  orderId: string | null;
  createdAtMs: number;
  expiresAtMs: number;
  lines: { sku: string; qty: number; reserved: number }[];
}

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
 * A script that failed while running is a bug (500); every other Redis error reply (OOM, LOADING,
 * BUSY, READONLY, MISCONF, …) means Redis cannot serve now: 503, like a lost connection.
 */
const SCRIPT_BUG = /user_script|Error running script/;

/** ioredis refused to send the command (the connection is down): it cannot have run. */
const NEVER_SENT = /Stream isn't writeable/;

/** What a client learns from a 503 of each kind of call, when the call may have reached Redis. */
const IN_DOUBT = {
  reserve: 'nothing was held (a hold made after the reply was given up on is released). Retry shortly',
  finish: 'it may or may not have taken effect: retry it (it is idempotent) to learn which',
  admin: 'the change may or may not have been applied: read the SKU before retrying',
} as const;

/** Told of the engine's own repairs, for metrics and the log. */
export interface EngineObserver {
  /** Reserves answered 503 whose script may have run, once settled (see unconfirmedReserves.ts). */
  reservesUndone(outcome: UndoOutcome, reservationIds: string[]): void;
}

/** Redis lost its data (the data marker is gone): the engine answers 503 until it is rebuilt. */
export class RedisDataLostError extends UnavailableError {
  constructor() {
    super('Redis', undefined, 'it lost its data and the engine is rebuilding it from Postgres. Retry shortly');
  }
}

/**
 * The typed facade over the Lua scripts: builds every call's KEYS from RedisKeys in the order each
 * script's header states, and turns replies into domain values or DomainErrors.
 */
export class StockEngine {
  private readonly templates: { stock: string; expiry: string; buyers: string };
  private readonly reserveBatcher = new Batcher<ReserveCommand, Reply>((commands) => this.reserveMany(commands), MAX_RESERVE_BATCH);
  private readonly createdAtText = new IsoTimeCache();
  private readonly expiresAtText = new IsoTimeCache();
  private readonly unconfirmed = new UnconfirmedReserves<ReserveCommand>(
    (command) => this.abandon(command),
    (outcome, commands) => this.observer?.reservesUndone(outcome, commands.map((command) => command.id)),
  );
  observer?: EngineObserver;

  constructor(
    readonly redis: ScriptedRedis,
    readonly keys: RedisKeys,
    readonly tuning: EngineTuning = DEFAULT_TUNING,
  ) {
    this.templates = keys.skuKeyTemplates();
  }

  /** Holds stock; concurrent calls are folded into one script call (see reserveBatcher.ts). */
  async reserve(command: ReserveCommand): Promise<ReserveOutcome> {
    const reply = await this.reserveBatcher.submit(command);
    const code = reply[0] as ReplyCode;
    switch (code) {
      case ReplyCode.Ok: {
        const createdAt = reply[1] as number;
        const expiresAt = reply[2] as number;
        return {
          kind: 'created',
          reservation: {
            id: command.id,
            status: 'PENDING',
            userId: command.userId,
            orderId: command.orderId,
            items: command.lines.map((line, n) => toLine(line.sku, line.qty, reply[3 + n] as number)),
            createdAt: this.createdAtText.of(createdAt),
            expiresAt: this.expiresAtText.of(expiresAt),
          },
        };
      }
      case ReplyCode.Repeated:
        return { kind: 'replayed', reservationId: String(reply[1]) };
      case ReplyCode.SkuNotFound:
        await this.confirmNotFound();
        throw refusal(code, { sku: command.lines[(reply[1] as number) - 1].sku });
      case ReplyCode.SaleNotActive:
        throw refusal(code, { sku: command.lines[(reply[1] as number) - 1].sku });
      case ReplyCode.PurchaseLimitExceeded: {
        const line = command.lines[(reply[1] as number) - 1];
        throw refusal(code, { sku: line.sku, requested: line.qty, alreadyHeld: reply[2], limit: reply[3] });
      }
      case ReplyCode.InsufficientStock:
        throw refusal(code, {
          items: command.lines
            .map((line, n) => ({ sku: line.sku, requested: line.qty, available: Math.max(0, reply[1 + n] as number) }))
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
  private async reserveMany(commands: ReserveCommand[]): Promise<Reply[]> {
    const { keys, tuning } = this;
    const skuNumbers = new Map<string, number>();
    const skuKeys: string[] = [];
    const requestKeys: string[] = [];
    const requestArgs: string[] = [];
    for (const command of commands) {
      requestKeys.push(keys.reservation(command.id));
      if (command.idempotency) requestKeys.push(keys.idempotency(command.userId, command.idempotency.keyHash));
      let lines = '';
      for (const line of command.lines) {
        let number = skuNumbers.get(line.sku);
        if (number === undefined) {
          number = skuNumbers.size + 1;
          skuNumbers.set(line.sku, number);
          skuKeys.push(keys.stock(line.sku), keys.expiry(line.sku), keys.buyers(line.sku));
        }
        lines += `${lines ? ',' : ''}${number}:${line.qty}`;
      }
      // One "|"-joined argument per request (see the script's header); ids never contain "|".
      const { idempotency } = command;
      const fingerprint = idempotency ? bindingFingerprint(idempotency.keyHash, idempotency.bodyDigest) : '';
      requestArgs.push(`${command.id}|${command.userId}|${command.orderId ?? ''}|${command.ttlSeconds * 1000}|${command.allowPartial ? 1 : 0}|${fingerprint}|${lines}`);
    }
    const callKeys = [keys.outbox(), keys.sweepDue(), ...skuKeys, ...requestKeys];
    const settings = [tuning.idempotencyTtlSeconds * 1000, tuning.recordRetentionSeconds * 1000, tuning.lazySweepLimit, skuNumbers.size, commands.length];
    // Reserves answered 503 earlier are undone first: nobody may replay them meanwhile.
    if (this.unconfirmed.size) await this.call(() => this.unconfirmed.settle());
    return (await this.call(
      () => this.redis.fsReserve(callKeys.length, ...callKeys, ...settings, ...skuNumbers.keys(), ...requestArgs),
      IN_DOUBT.reserve,
      () => this.unconfirmed.add(commands),
    )) as Reply[];
  }

  /** Undoes one reserve answered 503 (lua/abandon.lua). */
  private async abandon(command: ReserveCommand): Promise<UndoOutcome> {
    const { keys, templates } = this;
    const callKeys = [keys.reservation(command.id), keys.outbox()];
    if (command.idempotency) callKeys.push(keys.idempotency(command.userId, command.idempotency.keyHash));
    const [code] = (await this.redis.fsAbandon(
      callKeys.length,
      ...callKeys,
      command.id,
      templates.stock,
      templates.expiry,
      templates.buyers,
      this.tuning.recordRetentionSeconds * 1000,
    )) as number[];
    if (code === ReplyCode.ReservationNotFound) return 'not_applied';
    return code === ReplyCode.Ok ? 'released' : 'committed';
  }

  /** Stops retrying the undo of reserves answered 503; returns how many are left to expire. */
  async close(): Promise<number> {
    return this.unconfirmed.close();
  }

  /** Returns the reservation, or null when Redis no longer has it (Postgres may). */
  async getReservation(id: string): Promise<Reservation | null> {
    const reply = (await this.call(() => this.redis.fsGetReservation(1, this.keys.reservation(id)))) as Reply;
    if (reply[0] === ReplyCode.ReservationNotFound) return this.confirmNotFound();
    return this.parseReservation(id, reply, Number(reply[8]));
  }

  /** Commits; a repeat answers the committed reservation again and changes nothing. */
  async commit(id: string): Promise<FinishOutcome | null> {
    const reply = await this.finish('fsCommit', id);
    if (reply === null) return null;
    if (reply[0] !== ReplyCode.Ok && reply[0] !== ReplyCode.Repeated) throw refusal(reply[0] as ReplyCode);
    return { reservation: this.parseReservation(id, reply), changed: reply[0] === ReplyCode.Ok };
  }

  /** Releases; a repeat, or a reservation that had expired, answers with its status. */
  async release(id: string): Promise<FinishOutcome | null> {
    const reply = await this.finish('fsRelease', id);
    if (reply === null) return null;
    if (reply[0] === ReplyCode.ReservationCommitted) throw refusal(ReplyCode.ReservationCommitted);
    return { reservation: this.parseReservation(id, reply), changed: reply[0] === ReplyCode.Ok };
  }

  async extend(id: string, ttlSeconds: number): Promise<Reservation | null> {
    const { keys, templates } = this;
    const reply = (await this.call(() =>
      this.redis.fsExtend(
        3,
        keys.reservation(id),
        keys.outbox(),
        keys.sweepDue(),
        id,
        ttlSeconds * 1000,
        MAX_LIFETIME_SECONDS * 1000,
        templates.stock,
        templates.expiry,
        templates.buyers,
        this.tuning.recordRetentionSeconds * 1000,
      ),
      IN_DOUBT.finish,
    )) as Reply;
    if (reply[0] === ReplyCode.ReservationNotFound) return this.confirmNotFound();
    if (reply[0] !== ReplyCode.Ok) throw refusal(reply[0] as ReplyCode);
    return this.parseReservation(id, reply);
  }

  /**
   * Creates or updates a SKU; `created` tells which. A SKU Postgres knows must not be created
   * anew (its SET movement would count its total twice): with `mayCreate: false`, a SKU Redis
   * lacks is refused with SKU_NOT_FOUND, to be restored first.
   */
  async setStock(sku: string, settings: SkuSettings, actor: string, { mayCreate = true } = {}): Promise<{ created: boolean; view: SkuView; version: number }> {
    const reply = (await this.call(() =>
      this.redis.fsSetStock(
        ...this.skuScriptKeys(sku),
        sku,
        settings.total,
        settings.perUserLimit ?? '',
        settings.startsAt === null ? '' : Date.parse(settings.startsAt),
        settings.endsAt === null ? '' : Date.parse(settings.endsAt),
        actor,
        this.tuning.lazySweepLimit,
        mayCreate ? 1 : 0,
      ),
      IN_DOUBT.admin,
    )) as Reply;
    if (reply[0] === ReplyCode.SkuNotFound) {
      await this.confirmNotFound();
      throw refusal(ReplyCode.SkuNotFound, { sku });
    }
    if (reply[0] === ReplyCode.TotalBelowCommitted) {
      throw refusal(ReplyCode.TotalBelowCommitted, { requestedTotal: settings.total, reserved: reply[1], sold: reply[2] });
    }
    return { created: reply[0] === 1, view: { sku, ...countsOf(reply), ...settings }, version: reply[5] as number };
  }

  async adjustStock(sku: string, delta: number, reason: string, actor: string): Promise<SkuView> {
    const [, ...keys] = this.skuScriptKeys(sku);
    const reply = (await this.call(() =>
      this.redis.fsAdjustStock(4, ...keys.slice(0, 4), sku, delta, reason, actor, this.tuning.lazySweepLimit, MAX_TOTAL),
      IN_DOUBT.admin,
    )) as Reply;
    if (reply[0] === ReplyCode.InsufficientStock) {
      throw refusal(ReplyCode.InsufficientStock, { sku, delta, available: reply[1] });
    }
    if (reply[0] === ReplyCode.TotalTooLarge) {
      throw new DomainError('VALIDATION_FAILED', `total may not exceed ${MAX_TOTAL}.`, { sku, delta, total: reply[1] });
    }
    if (reply[0] === ReplyCode.SkuNotFound) await this.confirmNotFound();
    if (reply[0] !== ReplyCode.Ok) throw refusal(reply[0] as ReplyCode, { sku });
    const view = await this.getSku(sku);
    if (!view) throw refusal(ReplyCode.SkuNotFound, { sku });
    return view;
  }

  /** Reads one SKU view; null when the SKU does not exist. */
  async getSku(sku: string): Promise<SkuView | null> {
    const [view] = await this.getSkus([sku]);
    return view;
  }

  /** Reads several SKU views in one round trip; null for each SKU that does not exist. */
  async getSkus(skus: readonly string[]): Promise<(SkuView | null)[]> {
    const pipeline = this.redis.pipeline();
    for (const sku of skus) {
      pipeline.hmget(this.keys.stock(sku), 'total', 'available', 'reserved', 'sold', 'perUserLimit', 'startsAt', 'endsAt');
    }
    const results = await this.call(async () => {
      const settled = (await pipeline.exec()) ?? [];
      return settled.map(([error, value]) => {
        if (error) throw error;
        return value as (string | null)[];
      });
    });
    if (results.some((fields) => fields[0] === null)) await this.confirmNotFound();
    return results.map((fields, n) => {
      if (fields[0] === null) return null;
      return {
        sku: skus[n],
        total: Number(fields[0]),
        available: Number(fields[1]),
        reserved: Number(fields[2]),
        sold: Number(fields[3]),
        perUserLimit: fields[4] === null ? null : Number(fields[4]),
        startsAt: fields[5] === null ? null : new Date(Number(fields[5])).toISOString(),
        endsAt: fields[6] === null ? null : new Date(Number(fields[6])).toISOString(),
      };
    });
  }

  /** Returns the units of up to `limit` expired holds of one SKU and re-files it in the due index. */
  async sweepSku(sku: string, limit: number): Promise<{ holds: number; units: number; nextExpiryMs: number | null }> {
    const reply = (await this.call(() => this.redis.fsSweepExpired(...this.skuScriptKeys(sku), sku, limit))) as number[];
    return { holds: reply[0], units: reply[1], nextExpiryMs: reply[2] < 0 ? null : reply[2] };
  }

  /** SKUs holding at least one hold whose expiry is at or before `beforeMs`, earliest first. */
  async dueSkus(beforeMs: number, limit: number): Promise<string[]> {
    return this.call(() => this.redis.zrangebyscore(this.keys.sweepDue(), '-inf', beforeMs, 'LIMIT', 0, limit));
  }

  /** Raw counters and change version of several SKUs in one round trip; null where missing. */
  async readCounters(skus: readonly string[]): Promise<(StockCounters | null)[]> {
    const pipeline = this.redis.pipeline();
    for (const sku of skus) pipeline.hmget(this.keys.stock(sku), 'total', 'available', 'reserved', 'sold', 'version');
    const rows = await this.call(async () =>
      ((await pipeline.exec()) ?? []).map(([error, value]) => {
        if (error) throw error;
        return value as (string | null)[];
      }),
    );
    return rows.map((fields) =>
      fields[0] === null
        ? null
        : { total: Number(fields[0]), available: Number(fields[1]), reserved: Number(fields[2]), sold: Number(fields[3]), version: Number(fields[4] ?? 0) },
    );
  }

  /**
   * Rebuilds a SKU's Redis counters from the facts (total and sold from Postgres, reserved from the
   * expiry index), unless the SKU changed since `expectedVersion` was read.
   */
  async repairStock(sku: string, expectedVersion: number, total: number, sold: number): Promise<StockCounters | 'changed' | 'inconsistent' | 'missing'> {
    const reply = (await this.call(() =>
      this.redis.fsRepairStock(2, this.keys.stock(sku), this.keys.expiry(sku), expectedVersion, total, sold),
    )) as number[];
    if (reply[0] === ReplyCode.VersionChanged) return 'changed';
    if (reply[0] === ReplyCode.FactsInconsistent) return 'inconsistent';
    if (reply[0] === ReplyCode.SkuNotFound) return 'missing';
    return { total: reply[1], available: reply[2], reserved: reply[3], sold: reply[4], version: reply[5] };
  }

  /** Cold start: recreates a SKU Redis lost; false when Redis still had it (left untouched). */
  async restoreSku(snapshot: SkuRestore): Promise<boolean> {
    const { keys } = this;
    const args: (string | number)[] = [
      snapshot.sku,
      snapshot.total,
      snapshot.sold,
      snapshot.perUserLimit ?? '',
      snapshot.startsAtMs ?? '',
      snapshot.endsAtMs ?? '',
      snapshot.version,
      snapshot.holds.length,
    ];
    for (const hold of snapshot.holds) args.push(`${hold.reservationId}|${hold.units}|${hold.userId}`, hold.expiresAtMs);
    for (const [userId, units] of snapshot.buyerUnits) args.push(userId, units);
    const reply = (await this.call(() =>
      this.redis.fsRestoreSku(4, keys.stock(snapshot.sku), keys.expiry(snapshot.sku), keys.buyers(snapshot.sku), keys.sweepDue(), ...args),
    )) as number[];
    return reply[0] === 1;
  }

  /**
   * Cold start: recreates a pending reservation record Redis lost (left as is if present).
   */
  async restoreReservation(record: ReservationRestore): Promise<void> {
    const raw = encodeReservationRecord({
      status: 'P',
      createdAtMs: record.createdAtMs,
      expiresAtMs: record.expiresAtMs,
      finishedAt: '',
      userId: record.userId,
      orderId: record.orderId,
      lines: record.lines.map((line) => [line.sku, line.qty, line.reserved]),
    });
    const expireAt = record.expiresAtMs + this.tuning.recordRetentionSeconds * 1000;
    await this.call(() => this.redis.set(this.keys.reservation(record.id), raw, 'PXAT', expireAt, 'NX'));
  }

  /**
   * Cold start: restores Idempotency-Key bindings (left as they are where present), each to
   * expire when it would have.
   */
  async restoreBindings(bindings: { userId: string; binding: IdempotencyBinding; expiresAtMs: number }[]): Promise<void> {
    if (!bindings.length) return;
    const pipeline = this.redis.pipeline();
    for (const { userId, binding, expiresAtMs } of bindings) {
      pipeline.set(this.keys.idempotency(userId, binding.keyHash), encodeBinding(binding), 'PXAT', expiresAtMs, 'NX');
    }
    await this.call(() => pipeline.exec());
  }

  /** Whether Redis still holds the engine's data (see RedisKeys.dataMarker). */
  async hasDataMarker(): Promise<boolean> {
    return (await this.call(() => this.redis.exists(this.keys.dataMarker()))) === 1;
  }

  /** Marks Redis as holding the engine's data: at start-up and after a rebuild. */
  async writeDataMarker(): Promise<void> {
    await this.call(() => this.redis.set(this.keys.dataMarker(), new Date().toISOString()));
  }

  /**
   * Something was not found: fine (null) while Redis holds the engine's data, a 503 when Redis
   * lost it (the watcher rebuilds it), never a 404 for what Redis merely forgot.
   */
  private async confirmNotFound(): Promise<null> {
    if (!(await this.hasDataMarker())) throw new RedisDataLostError();
    return null;
  }

  /** Takes the cluster-wide reconciler lease for `ttlMs`; false when another holder has it. */
  async acquireLease(token: string, ttlMs: number): Promise<boolean> {
    return (await this.call(() => this.redis.set(this.keys.reconcileLease(), token, 'PX', ttlMs, 'NX'))) === 'OK';
  }

  /** Extends the lease while the pass runs; false when it is no longer this holder's. */
  async renewLease(token: string, ttlMs: number): Promise<boolean> {
    return (await this.call(() => this.redis.fsRenewLease(1, this.keys.reconcileLease(), token, ttlMs))) === 1;
  }

  async releaseLease(token: string): Promise<void> {
    await this.call(() => this.redis.fsReleaseLease(1, this.keys.reconcileLease(), token));
  }

  /** Redis server time in ms: the clock that decides expiry. */
  async redisTimeMs(): Promise<number> {
    const [seconds, micros] = await this.call(() => this.redis.time());
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** numKeys and KEYS shared by set_stock, adjust_stock and sweep_expired. */
  private skuScriptKeys(sku: string): [number, string, string, string, string, string] {
    const { keys } = this;
    return [5, keys.stock(sku), keys.expiry(sku), keys.buyers(sku), keys.outbox(), keys.sweepDue()];
  }

  private async finish(command: 'fsCommit' | 'fsRelease', id: string): Promise<Reply | null> {
    const { keys, templates } = this;
    const reply = (await this.call(() =>
      this.redis[command](
        2,
        keys.reservation(id),
        keys.outbox(),
        id,
        templates.stock,
        templates.expiry,
        templates.buyers,
        this.tuning.recordRetentionSeconds * 1000,
      ),
      IN_DOUBT.finish,
    )) as Reply;
    return reply[0] === ReplyCode.ReservationNotFound ? this.confirmNotFound() : reply;
  }

  /** Reply layout: {code, status, userId, orderId, createdAtMs, expiresAtMs, lines, finishedAtMs}. */
  private parseReservation(id: string, reply: Reply, nowMs = 0): Reservation {
    const expiresAt = Number(reply[5]);
    return {
      id,
      status: readStatus(String(reply[1]), expiresAt, nowMs),
      userId: String(reply[2]),
      orderId: String(reply[3]) || null,
      items: String(reply[6])
        .split(',')
        .map((line) => {
          const [sku, qty, reserved] = line.split('|');
          return toLine(sku, Number(qty), Number(reserved));
        }),
      createdAt: new Date(Number(reply[4])).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
    };
  }

  /**
   * Runs one Redis call; Redis unreachable or refusing becomes 503 UNAVAILABLE (fail closed).
   * When the call may have reached Redis without an answer, the 503 says `inDoubt` and
   * `onDoubt` runs (a reserve is then undone).
   */
  private async call<T>(run: () => Promise<T>, inDoubt?: string, onDoubt?: () => void): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof DomainError) throw error;
      const { name, message } = error as Error;
      if (name === 'ReplyError') {
        if (SCRIPT_BUG.test(message)) throw error;
        throw new UnavailableError('Redis', error);
      }
      if (NEVER_SENT.test(message) || !inDoubt) throw new UnavailableError('Redis', error);
      onDoubt?.();
      throw new UnavailableError('Redis', error, inDoubt);
    }
  }
}

function countsOf(reply: Reply): Pick<SkuView, 'total' | 'available' | 'reserved' | 'sold'> {
  return {
    total: reply[1] as number,
    available: reply[2] as number,
    reserved: reply[3] as number,
    sold: reply[4] as number,
  };
}

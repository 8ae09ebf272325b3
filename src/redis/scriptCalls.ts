import { type FinalStatus, MAX_LIFETIME_SECONDS, type RequestedLine } from '../domain/reservation';
import { MAX_TOTAL, type SkuSettings } from '../domain/sku';
import type { BucketMove } from './bucketMoveScripts';
import { encodeHoldMember } from './holdMember';
import type { RedisKeys } from './keys';
import { LETTER_OF_STATUS } from './reservationRecord';
import type { ScriptArg, ScriptName } from './scripts';
import { encodeLevels } from './stockHash';
import type { RestoreGuard } from './restoreGuard';
import type { SkuRestore } from './stockMaintenance';

/**
 * One builder per script in lua/: the KEYS and ARGV of a call, in the order the script's header
 * states, so no call site assembles them. Replies are decoded by the operation that runs the call.
 */
export interface ScriptCall {
  script: ScriptName;
  keys: string[];
  args: ScriptArg[];
  /**
   * A write a client is told about, or one the engine forgets once it ran (an undo or an end it
   * owes): with REDIS_WAIT_REPLICAS, answered once replicas have it (redisStore.ts).
   */
  acknowledged?: true;
  /**
   * An undo of a call answered 503 (it gives back what that call held): sent even while its master
   * has too few replicas online, when other acknowledged calls are refused unsent (replicatedScript.ts).
   */
  undoes?: true;
}

/** What the builders read besides their arguments: the key builder and the engine's tuning. */
export interface CallContext {
  keys: RedisKeys;
  tuning: { recordRetentionSeconds: number; idempotencyTtlSeconds: number; lazySweepLimit: number; defaultHoldTtlSeconds: number; redisWait: { replicas: number } };
}

/** How long a claimed Idempotency-Key stays claimed when its request dies before settling it. */
export const CLAIM_TTL_MS = 30_000;

/**
 * How long a part of a spanning reservation waits for its home before it is let go: the reserve
 * that made it died between partitions (lua/reserve_span.lua's deadline).
 */
export const PART_DEADLINE_MS = 60_000;

/**
 * The KEYS and ARGV every script that ends or changes a reservation record starts with (commit,
 * release, extend, abandon, finish_part; lua/includes/openRecord.lua reads them): the record, the
 * partition's outbox and spanning index; the reservation id, the partition's SKU key templates,
 * the record retention, the partition count and the partition they run in.
 */
function recordCall(context: CallContext, script: ScriptName, recordKey: string, id: string, partition: number): ScriptCall {
  const { keys, tuning } = context;
  const { stock, expiry, buyers } = keys.skuKeyTemplates(partition);
  return {
    script,
    keys: [recordKey, keys.outbox(partition), keys.spanning(partition)],
    args: [id, stock, expiry, buyers, tuning.recordRetentionSeconds * 1000, keys.partitions, partition, ...lineArgs(context, partition)],
  };
}

/**
 * The ARGV of the scripts that may serve a line (lua/includes/line.lua, lineTemplates): one
 * partition's line key templates, its sweep index and the record retention.
 */
function lineArgs({ keys, tuning }: CallContext, partition: number): ScriptArg[] {
  const { line, users, gone, tickets, record, sweepDue, outbox, lineDue } = keys.lineKeyTemplates(partition);
  return [line, users, gone, tickets, record, sweepDue, outbox, lineDue, tuning.recordRetentionSeconds * 1000];
}

/** KEYS of a SKU's stock, expiry index and buyers. */
function skuKeys(keys: RedisKeys, sku: string): string[] {
  return [keys.stock(sku), keys.expiry(sku), keys.buyers(sku)];
}

/** lua/commit.lua or lua/release.lua on a reservation's home record. */
export function endCall(context: CallContext, script: 'commit' | 'release', id: string): ScriptCall {
  return { ...recordCall(context, script, context.keys.reservation(id), id, context.keys.partitionOfReservation(id)), acknowledged: true };
}

/** lua/abandon.lua: undoes a reserve nobody received; `idempotencyKey` when its key lives in the record's partition. */
export function abandonCall(context: CallContext, id: string, idempotencyKey?: string): ScriptCall {
  const call = recordCall(context, 'abandon', context.keys.reservation(id), id, context.keys.partitionOfReservation(id));
  if (idempotencyKey !== undefined) call.keys.push(idempotencyKey);
  // The engine stops undoing once this answers: an undo only the master had would come back undone with a promoted replica.
  return { ...call, acknowledged: true, undoes: true };
}

/** lua/extend.lua. */
export function extendCall(context: CallContext, id: string, ttlSeconds: number): ScriptCall {
  const { keys } = context;
  const home = keys.partitionOfReservation(id);
  const call = recordCall(context, 'extend', keys.reservation(id), id, home);
  call.keys.push(keys.sweepDue(home));
  call.args.push(ttlSeconds * 1000, MAX_LIFETIME_SECONDS * 1000);
  return { ...call, acknowledged: true };
}

/** lua/finish_part.lua: the end its home reached, applied to one other partition's part. */
export function finishPartCall(context: CallContext, id: string, partition: number, status: FinalStatus): ScriptCall {
  const call = recordCall(context, 'finish_part', context.keys.reservationPart(id, partition), id, partition);
  call.args.push(LETTER_OF_STATUS[status]);
  // Part of the commit or release a client is told of, and nobody carries it again once it answered.
  return { ...call, acknowledged: true };
}

/** lua/get_reservation.lua. */
export function getReservationCall({ keys }: CallContext, id: string): ScriptCall {
  return { script: 'get_reservation', keys: [keys.reservation(id)], args: [] };
}

/** lua/sold_out_check.lua: what the sold-out watch reads of some SKUs of one partition. */
export function soldOutCheckCall({ keys }: CallContext, skus: readonly string[]): ScriptCall {
  return { script: 'sold_out_check', keys: skus.flatMap((sku) => [keys.stock(sku), keys.expiry(sku)]), args: [] };
}

/** lua/idem_claim.lua: claims a key in its user's partition for reservation `id`. */
export function idemClaimCall(key: string, fingerprint: string, id: string): ScriptCall {
  return { script: 'idem_claim', keys: [key], args: [fingerprint, CLAIM_TTL_MS, id], acknowledged: true };
}

/** lua/idem_settle.lua: binds a claimed key to its reservation, or lets go of it. */
export function idemSettleCall({ tuning }: CallContext, key: string, fingerprint: string, id: string, bind: boolean): ScriptCall {
  return { script: 'idem_settle', keys: [key], args: [fingerprint, id, tuning.idempotencyTtlSeconds * 1000, bind ? 1 : 0], acknowledged: true };
}

/** lua/idem_revoke.lua: lets go of a claim made for a reserve being undone, unless a retry was answered with it. */
export function idemRevokeCall(key: string, fingerprint: string, id: string): ScriptCall {
  // Waited for like the claim: a promoted replica that has the claim but not its revoke refuses retries for 30 s.
  return { script: 'idem_revoke', keys: [key], args: [fingerprint, id], acknowledged: true, undoes: true };
}

/** A reserve with its reservation id, as the reserve scripts take it. */
export interface HoldRequest {
  id: string;
  userId: string;
  orderId: string | null;
  lines: RequestedLine[];
  ttlSeconds: number;
  allowPartial: boolean;
}

/** One request of a lua/reserve.lua batch. */
export interface ReserveArgument extends HoldRequest {
  /** The Idempotency-Key binding's fingerprint, and whether the key lives in this partition (else it was claimed in its user's). */
  idempotency?: { key: string; fingerprint: string; here: boolean };
}

/**
 * lua/reserve.lua for several requests of one partition: each distinct SKU's keys are passed
 * once, and the requests name their SKUs by number ("<n>:<qty>[@<location>]").
 */
export function reserveCall({ keys, tuning }: CallContext, partition: number, requests: readonly ReserveArgument[]): ScriptCall {
  const skuNumbers = new Map<string, number>();
  const skuKeyList: string[] = [];
  const requestKeys: string[] = [];
  const requestArgs: string[] = [];
  for (const request of requests) {
    requestKeys.push(keys.reservation(request.id));
    const { idempotency } = request;
    if (idempotency?.here) requestKeys.push(idempotency.key);
    let lines = '';
    for (const line of request.lines) {
      let number = skuNumbers.get(line.sku);
      if (number === undefined) {
        number = skuNumbers.size + 1;
        skuNumbers.set(line.sku, number);
        skuKeyList.push(...skuKeys(keys, line.sku));
      }
      lines += `${lines ? ',' : ''}${number}:${line.qty}${line.location === undefined ? '' : `@${line.location}`}`;
    }
    // One "|"-joined argument per request (see the script's header); ids never contain "|".
    const fingerprint = idempotency ? `${idempotency.here ? '+' : ''}${idempotency.fingerprint}` : '';
    requestArgs.push(`${request.id}|${request.userId}|${request.orderId ?? ''}|${request.ttlSeconds * 1000}|${request.allowPartial ? 1 : 0}|${fingerprint}|${lines}`);
  }
  const settings = [tuning.idempotencyTtlSeconds * 1000, tuning.recordRetentionSeconds * 1000, tuning.lazySweepLimit, skuNumbers.size, requests.length];
  return {
    script: 'reserve',
    keys: [keys.outbox(partition), keys.sweepDue(partition), ...skuKeyList, ...requestKeys],
    args: [...settings, ...skuNumbers.keys(), ...requestArgs],
    acknowledged: true,
  };
}

/** One partition's piece of a reserve spanning partitions; `lines` are those that live in the partition. */
export interface SpanPiece extends HoldRequest {
  role: 'home' | 'part';
  /** The binding's fingerprint (home only), or ''. */
  fingerprint: string;
  /** The home's "spanning layout" argument ('' for a part). */
  layout: string;
}

/** lua/reserve_span.lua. */
export function reserveSpanCall({ keys, tuning }: CallContext, partition: number, piece: SpanPiece): ScriptCall {
  const recordKey = piece.role === 'home' ? keys.reservation(piece.id) : keys.reservationPart(piece.id, partition);
  return {
    script: 'reserve_span',
    keys: [keys.outbox(partition), keys.spanning(partition), recordKey, ...piece.lines.flatMap((line) => skuKeys(keys, line.sku))],
    args: [
      tuning.recordRetentionSeconds * 1000,
      tuning.lazySweepLimit,
      piece.role,
      piece.id,
      piece.userId,
      piece.orderId ?? '',
      piece.ttlSeconds * 1000,
      piece.allowPartial ? 1 : 0,
      piece.role === 'home' ? piece.fingerprint : '',
      PART_DEADLINE_MS,
      piece.layout,
      ...piece.lines.flatMap((line) => [line.sku, line.location === undefined ? line.qty : `${line.qty}@${line.location}`]),
    ],
    acknowledged: true,
  };
}

/** KEYS of the scripts that change one SKU's stock: its three keys, its partition's outbox and sweep index. */
function stockChangeKeys(keys: RedisKeys, sku: string): string[] {
  const partition = keys.partitionOfSku(sku);
  return [...skuKeys(keys, sku), keys.outbox(partition), keys.sweepDue(partition)];
}

/** lua/set_stock.lua; the stock argument is "<location>=<total>,…" or a plain total. */
export function setStockCall(context: CallContext, sku: string, settings: SkuSettings, actor: string, mayCreate: boolean, holdsNothing = false, expectedTotalChanges?: number): ScriptCall {
  const { keys, tuning } = context;
  const { line } = settings;
  return {
    script: 'set_stock',
    keys: stockChangeKeys(keys, sku),
    args: [
      sku,
      settings.locations ? settings.locations.map(({ location, total }) => `${location}=${total}`).join(',') : settings.total,
      settings.perUserLimit ?? '',
      settings.startsAt === null ? '' : Date.parse(settings.startsAt),
      settings.endsAt === null ? '' : Date.parse(settings.endsAt),
      actor,
      tuning.lazySweepLimit,
      mayCreate ? 1 : 0,
      line ? (line.holdTtlSeconds ?? tuning.defaultHoldTtlSeconds) * 1000 : '',
      line ? line.lobbySeconds * 1000 : 0,
      (settings.buckets ?? 1) > 1 ? settings.buckets! : '',
      ...lineArgs(context, keys.partitionOfSku(sku)),
      holdsNothing ? 1 : 0,
      expectedTotalChanges ?? '',
    ],
    acknowledged: true,
  };
}

/** lua/adjust_stock.lua (it needs no sweep index). */
export function adjustStockCall(context: CallContext, sku: string, delta: number, reason: string, actor: string, location?: string): ScriptCall {
  const { keys, tuning } = context;
  return {
    script: 'adjust_stock',
    keys: stockChangeKeys(keys, sku).slice(0, 4),
    args: [sku, delta, reason, actor, tuning.lazySweepLimit, MAX_TOTAL, location ?? '', ...lineArgs(context, keys.partitionOfSku(sku))],
    acknowledged: true,
  };
}

/** How long the marker of a move's units added to their target lives: far beyond any drain of it. */
export const BUCKET_MOVE_MARKER_TTL_MS = 7 * 24 * 3600_000;

/** lua/bucket_move_out.lua: takes `qty` units out of a source bucket for the move `id`. */
export function bucketMoveOutCall(context: CallContext, { id, source, target, qty, location }: BucketMove): ScriptCall {
  const { keys, tuning } = context;
  return {
    script: 'bucket_move_out',
    keys: [...stockChangeKeys(keys, source).slice(0, 4), keys.bucketMoves(keys.partitionOfSku(source))],
    args: [source, target, id, qty, tuning.lazySweepLimit, location],
    acknowledged: true,
  };
}

/** lua/bucket_move_in.lua: adds the move's units to its target bucket, once. */
export function bucketMoveInCall({ keys }: CallContext, { id, source, target, qty, location }: BucketMove): ScriptCall {
  return {
    script: 'bucket_move_in',
    keys: [keys.stock(target), keys.outbox(keys.partitionOfSku(target)), keys.bucketMoveIn(target, id)],
    args: [target, source, id, qty, BUCKET_MOVE_MARKER_TTL_MS, location],
    acknowledged: true,
  };
}

/** Expired holds a bucket count adds up at most. */
const BUCKET_COUNT_EXPIRED_LIMIT = 1000;

/** lua/bucket_count.lua: one bucket's units as a refill sees them. */
export function bucketCountCall({ keys }: CallContext, bucket: string): ScriptCall {
  return { script: 'bucket_count', keys: [keys.stock(bucket), keys.expiry(bucket)], args: [BUCKET_COUNT_EXPIRED_LIMIT] };
}

/** lua/bucket_move_done.lua: the move's source no longer counts its units as moving out. */
export function bucketMoveDoneCall({ keys }: CallContext, id: string, source: string): ScriptCall {
  return { script: 'bucket_move_done', keys: [keys.stock(source), keys.bucketMoves(keys.partitionOfSku(source))], args: [id] };
}

/** lua/sweep_expired.lua: returns the units of up to `limit` expired holds of one SKU. */
export function sweepExpiredCall(context: CallContext, sku: string, limit: number): ScriptCall {
  const { keys } = context;
  return { script: 'sweep_expired', keys: stockChangeKeys(keys, sku), args: [sku, limit, ...lineArgs(context, keys.partitionOfSku(sku))] };
}

/** lua/repair_stock.lua; `levels` is the levels text ('' for a SKU without named locations). */
export function repairStockCall({ keys }: CallContext, sku: string, expectedVersion: number, total: number, sold: number, levels: string): ScriptCall {
  return { script: 'repair_stock', keys: [keys.stock(sku), keys.expiry(sku), keys.outbox(keys.partitionOfSku(sku))], args: [expectedVersion, total, sold, levels, sku] };
}

/** lua/repair_line.lua: lineWaiting from the SKU's line, lineAdmitted the admitted tickets Postgres recorded. */
export function repairLineCall({ keys }: CallContext, sku: string, expectedVersion: number, admitted: number): ScriptCall {
  return { script: 'repair_line', keys: [keys.stock(sku), keys.line(sku), keys.outbox(keys.partitionOfSku(sku))], args: [expectedVersion, admitted, sku] };
}

/** lua/start_epoch.lua: a new shard epoch of the partition, always ('rebuild'), or unless one began on the master serving it ('ensure'). */
export function startEpochCall({ keys }: CallContext, partition: number, mode: 'ensure' | 'rebuild'): ScriptCall {
  return { script: 'start_epoch', keys: [keys.epoch(partition)], args: [mode] };
}

/** lua/restore_sku.lua: the snapshot, then its holds, buyers, tickets, the line's users and gaps. */
export function restoreSkuCall(context: CallContext, snapshot: SkuRestore, guard: RestoreGuard): ScriptCall {
  const { keys } = context;
  const { sku, holds, buyerUnits, line, tickets, lineUsers } = snapshot;
  const partition = keys.partitionOfSku(sku);
  const args: ScriptArg[] = [
    sku,
    snapshot.total,
    snapshot.sold,
    snapshot.perUserLimit ?? '',
    snapshot.startsAtMs ?? '',
    snapshot.endsAtMs ?? '',
    snapshot.version,
    snapshot.levels ? encodeLevels(snapshot.levels) : '',
    line ? line.holdTtlMs : '',
    line ? line.lobbyMs : 0,
    snapshot.buckets > 1 ? snapshot.buckets : '',
    ...lineArgs(context, partition),
    holds.length,
    buyerUnits.length,
    tickets.length,
    lineUsers.length,
    ...holds.flatMap((hold) => [encodeHoldMember(hold), Number.isFinite(hold.expiresAtMs) ? hold.expiresAtMs : '+inf']),
    ...buyerUnits.flat(),
    ...tickets.flat(),
    ...lineUsers.flat(),
    ...snapshot.lineGaps.flat(),
  ];
  return { script: 'restore_sku', keys: [...skuKeys(keys, sku), keys.sweepDue(partition), keys.outbox(partition), guard(partition)], args };
}

/** lua/restore_record.lua: one record of a pending reservation, and its spanning entry (spanningScore null: it spans no partition). */
export function restoreRecordCall(
  keys: RedisKeys,
  record: { guard: string; recordKey: string; raw: string; expireAt: number; partition: number; spanningScore: number | null; id: string },
): ScriptCall {
  const { guard, recordKey, raw, expireAt, partition, spanningScore, id } = record;
  return { script: 'restore_record', keys: [guard, recordKey, keys.spanning(partition)], args: [raw, expireAt, spanningScore ?? '', id] };
}

/** One join of a line, as lua/line_join.lua takes it. */
export interface JoinArgument {
  sku: string;
  /** The ticket's id: a reservation id homed in the SKU's partition (an admitted ticket's hold takes it). */
  ticketId: string;
  userId: string;
  qty: number;
  orderId: string | null;
  /** The lobby shuffle's draw, in [0, 1). */
  draw: number;
}

/** lua/line_join.lua for several joins of one partition's lines: each distinct SKU's keys once, the joins naming their SKU by number. */
export function lineJoinCall(context: CallContext, partition: number, joins: readonly JoinArgument[]): ScriptCall {
  const { keys } = context;
  const skuNumbers = new Map<string, number>();
  const joinArgs: ScriptArg[] = [];
  for (const { sku, ticketId, userId, qty, orderId, draw } of joins) {
    let number = skuNumbers.get(sku);
    if (number === undefined) {
      number = skuNumbers.size + 1;
      skuNumbers.set(sku, number);
    }
    joinArgs.push(number, ticketId, userId, qty, orderId ?? '', draw);
  }
  const skus = [...skuNumbers.keys()];
  return {
    script: 'line_join',
    keys: [keys.outbox(partition), ...skus.flatMap((sku) => skuKeys(keys, sku))],
    args: [...lineArgs(context, partition), skus.length, ...skus, ...joinArgs],
    acknowledged: true,
  };
}

/** lua/line_ticket.lua: reads a ticket, or leaves the line with it. */
export function lineTicketCall(context: CallContext, ticketId: string, leave: boolean): ScriptCall {
  const { keys, tuning } = context;
  const partition = keys.partitionOfTicket(ticketId);
  const { stock, expiry, buyers } = keys.skuKeyTemplates(partition);
  // With REDIS_WAIT_REPLICAS a read waits too: an ADMITTED answer hands the shopper a hold, which
  // must be one a promoted replica has (the script makes the WAIT cover it). A read answered
  // otherwise has nothing to wait for, and its WAIT returns at once.
  const waits = leave || tuning.redisWait.replicas > 0;
  return {
    script: 'line_ticket',
    keys: [keys.tickets(partition), keys.outbox(partition)],
    args: [...lineArgs(context, partition), stock, expiry, buyers, ticketId, leave ? 1 : 0, waits ? 1 : 0],
    ...(waits ? { acknowledged: true as const } : {}),
  };
}

/** lua/release_lease.lua: lets go of the reconcile lease if `token` still holds it. */
export function releaseLeaseCall(key: string, token: string): ScriptCall {
  return { script: 'release_lease', keys: [key], args: [token] };
}

/** lua/renew_lease.lua: extends the reconcile lease if `token` still holds it. */
export function renewLeaseCall(key: string, token: string, ttlMs: number): ScriptCall {
  return { script: 'renew_lease', keys: [key], args: [token, ttlMs] };
}

/** lua/mark_rebuilt.lua: writes a partition's data marker if the rebuild's token is still there. */
export function markRebuiltCall(keys: RedisKeys, partition: number, token: string): ScriptCall {
  return { script: 'mark_rebuilt', keys: [keys.rebuildToken(partition, token), keys.dataMarker(partition)], args: [new Date().toISOString()] };
}

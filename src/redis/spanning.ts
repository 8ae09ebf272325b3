import type { FinalStatus, RequestedLine } from '../domain/reservation';
import { decodeHoldUnits } from './holdUnits';
import type { RedisStore } from './redisStore';
import { ReplyCode } from './replyCodes';
import { type ReservationRecord, decodeReservationRecord } from './reservationRecord';
import { type HoldRequest, endCall, finishPartCall, reserveSpanCall } from './scriptCalls';

/** A reserve whose lines are in several partitions, on its way to being held. */
export interface SpanningReserve extends HoldRequest {
  /** "<key hash>~<body digest>" when the request carried an Idempotency-Key ('' otherwise). */
  fingerprint: string;
}

type Reply = (string | number)[];

/** Spanning work settled per partition and reconciler round. */
const DUE_PER_ROUND = 200;

/**
 * Reservations whose lines fall in several partitions
 * (docs/architecture.md#requests-that-span-partitions). They are held partition by partition, the
 * home last; a refusal anywhere lets the parts already held go, so the client sees all or nothing.
 * Their holds never expire on their own (score +inf): commit, release, extend and expiry are
 * decided once at the home record, then applied to every other partition (finish_part.lua),
 * idempotently; what a crash left half-done is finished by the reconciler from each partition's
 * spanning index.
 */
export class SpanningReservations {
  constructor(private readonly store: RedisStore) {}

  /** The partitions other than its home that a reservation's lines are in. */
  partsOf(lines: readonly { sku: string }[], home: number): number[] {
    if (this.store.keys.partitions === 1) return [];
    const parts = new Set(lines.map((line) => this.store.keys.partitionOfSku(line.sku)));
    parts.delete(home);
    return [...parts];
  }

  /**
   * Holds a spanning reserve; answers in the reserve script's reply layout, its line numbers those
   * of the request, so the engine reads it like any other.
   */
  async reserve(request: SpanningReserve): Promise<Reply> {
    const { keys } = this.store;
    const home = keys.partitionOfReservation(request.id);
    // Per line, its units text (holdUnits.ts) as the piece holding it answered.
    const reserved: (number | string)[] = request.lines.map(() => 0);
    const held: number[] = [];
    const undo = () => this.finishParts(request.id, 'RELEASED', held, home);
    for (const partition of this.partsOf(request.lines, home)) {
      const reply = await this.reservePiece(request, partition, 'part', '');
      if (reply.code !== ReplyCode.Ok) {
        await undo();
        return reply.refusal;
      }
      held.push(partition);
      reply.reservedByLine.forEach((units, n) => (reserved[n] = units));
    }
    const layout = request.lines
      .map((line, n) => (keys.partitionOfSku(line.sku) === home ? `#${this.localNumber(request.lines, home, n)}` : `${line.sku}|${line.qty}|${reserved[n]}`))
      .join(',');
    const homeReply = await this.reservePiece(request, home, 'home', layout);
    if (homeReply.code !== ReplyCode.Ok) {
      await undo();
      return homeReply.refusal;
    }
    homeReply.reservedByLine.forEach((units, n) => (reserved[n] = units));
    if (reserved.every((units) => decodeHoldUnits(units).units === 0)) {
      // allowPartial, and not one unit anywhere: refused like any other reserve.
      await this.store.run(endCall(this.store, 'release', request.id));
      await undo();
      return [ReplyCode.InsufficientStock, ...request.lines.map(() => 0)];
    }
    return [ReplyCode.Ok, homeReply.createdAtMs, homeReply.expiresAtMs, ...reserved];
  }

  /** Applies the end a spanning reservation reached at its home to each of its other partitions. */
  async finishParts(id: string, status: FinalStatus, parts: readonly number[], home: number): Promise<void> {
    const { keys } = this.store;
    await Promise.all(parts.map((partition) => this.store.run(finishPartCall(this.store, id, partition, status))));
    await this.store.call((client) => client.zrem(keys.spanning(home), id));
  }

  /** After the home script ran: carries an end it reached to the other partitions. */
  async afterHome(id: string, record: ReservationRecord): Promise<void> {
    if (record.status === 'PENDING') return;
    const home = this.store.keys.partitionOfReservation(id);
    const parts = this.partsOf(record.lines.map(([sku]) => ({ sku })), home);
    if (parts.length) await this.finishParts(id, record.status, parts, home);
  }

  /**
   * The reconciler's round over every partition's spanning index: ends reservations whose expiry
   * passed, carries ends to parts a crash left behind, and lets go of parts whose home never came.
   * Returns how many entries were settled.
   */
  async settleDue(): Promise<number> {
    const { keys } = this.store;
    let settled = 0;
    for (let partition = 0; partition < keys.partitions; partition++) {
      const now = await this.store.timeMs();
      const due = await this.store.call((client) => client.zrangebyscore(keys.spanning(partition), '-inf', now, 'LIMIT', 0, DUE_PER_ROUND));
      for (const id of due) {
        await this.settleOne(id, partition, now);
        settled += 1;
      }
    }
    return settled;
  }

  private async settleOne(id: string, partition: number, now: number): Promise<void> {
    const { keys } = this.store;
    const home = keys.partitionOfReservation(id);
    const raw = await this.store.call((client) => client.get(keys.reservation(id)));
    const record = raw === null ? null : decodeReservationRecord(raw);
    if (partition !== home) {
      // A part: the home decides. No home past the deadline: the reserve died before holding it.
      if (record?.status === 'PENDING') {
        await this.store.call((client) => client.zadd(keys.spanning(partition), record.expiresAtMs + 1000, id));
      } else if (record) {
        // An end read here may be one only the home's master has (its commit answered 503): carried
        // by the home's own settling, whose script waits for replicas, never from this plain read.
        await this.settleOne(id, home, now);
      } else {
        await this.finishParts(id, 'RELEASED', [partition], home);
      }
      return;
    }
    if (!record) {
      await this.store.call((client) => client.zrem(keys.spanning(home), id));
      return;
    }
    if (record.status === 'PENDING' && now < record.expiresAtMs) {
      await this.store.call((client) => client.zadd(keys.spanning(home), record.expiresAtMs, id));
      return;
    }
    // Expired, or ended with its parts not yet told: release answers the expiry (E) or the end as stored.
    const reply = await this.store.run<Reply>(endCall(this.store, 'release', id));
    if (reply[0] !== ReplyCode.ReservationNotFound) await this.afterHome(id, decodeReservationRecord(String(reply[1])));
  }

  /** One partition's piece of a spanning reserve (lua/reserve_span.lua). */
  private async reservePiece(request: SpanningReserve, partition: number, role: 'home' | 'part', layout: string) {
    const { keys } = this.store;
    const local = request.lines.map((line, n) => ({ line, n })).filter(({ line }) => keys.partitionOfSku(line.sku) === partition);
    const reply = await this.store.run<Reply>(
      reserveSpanCall(this.store, partition, { ...request, role, layout, lines: local.map(({ line }) => line) }),
    );
    const code = reply[0] as number;
    const reservedByLine = new Map<number, number | string>();
    if (code === ReplyCode.Ok) local.forEach(({ n }, k) => reservedByLine.set(n, reply[3 + k] as number | string));
    return {
      code,
      createdAtMs: reply[1] as number,
      expiresAtMs: reply[2] as number,
      reservedByLine,
      /** The refusal in the request's line numbers. */
      refusal: this.toRequestLines(reply, local.map(({ n }) => n), request.lines),
    };
  }

  /** A piece's refusal, its line numbers (1-based, local) turned into the request's. */
  private toRequestLines(reply: Reply, requestLineOf: number[], lines: readonly RequestedLine[]): Reply {
    const code = reply[0] as number;
    if (code === ReplyCode.InsufficientStock) {
      // Lines held elsewhere read as fully available: only this piece's short lines are reported.
      const available: number[] = lines.map((line) => line.qty);
      requestLineOf.forEach((n, k) => (available[n] = reply[1 + k] as number));
      return [code, ...available];
    }
    const lineRefusals: number[] = [ReplyCode.SkuNotFound, ReplyCode.SaleNotActive, ReplyCode.PurchaseLimitExceeded, ReplyCode.LocationNotFound, ReplyCode.LineRequired, ReplyCode.WrongBucket];
    if (lineRefusals.includes(code)) {
      return [code, requestLineOf[(reply[1] as number) - 1] + 1, ...reply.slice(2)];
    }
    return reply;
  }

  /** The 1-based number of request line `n` among the lines of `partition`. */
  private localNumber(lines: readonly RequestedLine[], partition: number, n: number): number {
    return lines.slice(0, n + 1).filter((line) => this.store.keys.partitionOfSku(line.sku) === partition).length;
  }
}

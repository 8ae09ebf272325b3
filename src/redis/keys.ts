import { homeOfReservationId } from '../domain/ids';
import { partitionOf, partitionOfSku } from './partitions';

/**
 * Every Redis key the engine uses is built here and nowhere else.
 *
 * Every key lives in a partition (partitions.ts): its hash tag `{p<n>}` puts all of one
 * partition's keys in one hash slot, so a script over them is legal on a Redis Cluster. A SKU's
 * keys are in the SKU's partition, a reservation's record in its home partition (named by its id),
 * an Idempotency-Key in its user's. Identifiers reaching this module were validated against
 * patterns without braces, so a client can never choose a key's slot or shape.
 */
export class RedisKeys {
  constructor(
    readonly prefix: string,
    /** How many partitions the keys are spread over (REDIS_PARTITIONS). */
    readonly partitions = 1,
  ) {}

  private tag(partition: number): string {
    return `${this.prefix}:{p${partition}}`;
  }

  partitionOfSku(sku: string): number {
    return partitionOfSku(sku, this.partitions);
  }

  partitionOfUser(userId: string): number {
    return partitionOf(userId, this.partitions);
  }

  /** The partition of a key this module built (its hash tag). */
  partitionOfKey(key: string): number {
    return Number(/\{p(\d+)\}/.exec(key)?.[1] ?? 0);
  }

  /** The home partition of a reservation: where its record lives. */
  partitionOfReservation(id: string): number {
    return homeOfReservationId(id) % this.partitions;
  }

  /** The SKU's stock hash: its fields are laid out in stockHash.ts. */
  stock(sku: string): string {
    return `${this.tag(this.partitionOfSku(sku))}:sku:${sku}:stock`;
  }

  /** Lease of the one write of the SKU's settings under way (src/services/putSku.ts), in its partition. */
  skuWriteLease(sku: string): string {
    return `${this.tag(this.partitionOfSku(sku))}:sku:${sku}:write-lease`;
  }

  /** Sorted set of the SKU's pending hold lines, scored by expiry (ms, Redis time). */
  expiry(sku: string): string {
    return `${this.tag(this.partitionOfSku(sku))}:sku:${sku}:expiry`;
  }

  /** Hash userId -> units the user holds or has bought of this SKU (for the per-user limit). */
  buyers(sku: string): string {
    return `${this.tag(this.partitionOfSku(sku))}:sku:${sku}:buyers`;
  }

  /** Sorted set of the SKU's waiting line: ticket id -> place (see lua/includes/line.lua). */
  line(sku: string): string {
    return `${this.tag(this.partitionOfSku(sku))}:sku:${sku}:line`;
  }

  /** Hash userId -> the user's ticket id in the SKU's line (one ticket per user and SKU). */
  lineUsers(sku: string): string {
    return `${this.tag(this.partitionOfSku(sku))}:sku:${sku}:line-users`;
  }

  /** Sorted set of tickets that left the SKU's line behind its head ("<id>|<qty>" -> place), for unitsAhead. */
  lineGone(sku: string): string {
    return `${this.tag(this.partitionOfSku(sku))}:sku:${sku}:line-gone`;
  }

  /**
   * Sorted set sku -> earliest expiry of an admitted hold of one partition's lined SKUs: the lines
   * the engine serves as soon as a hold's time runs out (src/services/lineWatch.ts).
   */
  lineDue(partition: number): string {
    return `${this.tag(partition)}:line-due`;
  }

  /** Hash ticket id -> ticket text, for the tickets of one partition's lines (a ticket lives in its SKU's partition). */
  tickets(partition: number): string {
    return `${this.tag(partition)}:tickets`;
  }

  /** The partition of a ticket: named by its id, like a reservation's (an admitted ticket's hold takes its id). */
  partitionOfTicket(id: string): number {
    return this.partitionOfReservation(id);
  }

  /**
   * The keys a script needs to run one partition's lines, as templates with `%s` for the SKU (or,
   * for the reservation record, the id): for scripts that admit tickets (lua/includes/line.lua).
   */
  lineKeyTemplates(partition: number): { line: string; users: string; gone: string; tickets: string; record: string; sweepDue: string; outbox: string; lineDue: string } {
    const tag = this.tag(partition);
    return {
      line: `${tag}:sku:%s:line`,
      users: `${tag}:sku:%s:line-users`,
      gone: `${tag}:sku:%s:line-gone`,
      tickets: this.tickets(partition),
      record: `${tag}:res:%s`,
      sweepDue: this.sweepDue(partition),
      outbox: this.outbox(partition),
      lineDue: this.lineDue(partition),
    };
  }

  /**
   * The same three keys of one partition's SKUs as templates with `%s` for the SKU, for scripts
   * that find SKUs in a record.
   */
  skuKeyTemplates(partition: number): { stock: string; expiry: string; buyers: string } {
    const tag = this.tag(partition);
    return { stock: `${tag}:sku:%s:stock`, expiry: `${tag}:sku:%s:expiry`, buyers: `${tag}:sku:%s:buyers` };
  }

  /** String: the reservation record, with its TTL (format in lua/includes/reservationRecord.lua). */
  reservation(id: string): string {
    return `${this.tag(this.partitionOfReservation(id))}:res:${id}`;
  }

  /** String "<reservationId>|<fingerprint>"; keyHash is a digest, never the client's raw key. */
  idempotency(userId: string, keyHash: string): string {
    return `${this.tag(this.partitionOfUser(userId))}:idem:${userId}:${keyHash}`;
  }

  /** String: a spanning reservation's record in another partition than its home (its lines there). */
  reservationPart(id: string, partition: number): string {
    return `${this.tag(partition)}:res:${id}`;
  }

  /**
   * Sorted set reservation id -> when its spanning work is next due in this partition: at the
   * home, the reservation's expiry (0 once it ended, until every part ended too); elsewhere, the
   * deadline by which the home must exist.
   */
  spanning(partition: number): string {
    return `${this.tag(partition)}:spanning`;
  }

  /** Stream of one partition's state changes, which the reconciler drains into Postgres. */
  outbox(partition: number): string {
    return `${this.tag(partition)}:outbox`;
  }

  /** Consumer group through which the reconciler reads the outbox. */
  outboxGroup(): string {
    return 'reconciler';
  }

  /** Stream of a partition's outbox entries Postgres refused as data (kept for an operator, see docs/operations.md#dead-letters). */
  deadLetters(partition: number): string {
    return `${this.tag(partition)}:dead-letters`;
  }

  /** Sorted set sku -> earliest hold expiry of one partition's SKUs: the SKUs a sweep has to visit. */
  sweepDue(partition: number): string {
    return `${this.tag(partition)}:sweep-due`;
  }

  /**
   * String written once a partition holds the engine's data (at start-up, after any rebuild).
   * Redis that lost its data (restart without persistence, failover to an empty replica,
   * FLUSHALL) lacks it, which tells "Redis forgot" apart from "never existed".
   */
  dataMarker(partition: number): string {
    return `${this.tag(partition)}:data-marker`;
  }

  /**
   * String one rebuild of a partition writes before it reads Postgres (`token` is that rebuild's
   * own): gone at its end only if Redis lost the partition's data again meanwhile, so the data
   * marker is written only over a rebuild that is whole (lua/mark_rebuilt.lua).
   */
  rebuildToken(partition: number, token: string): string {
    return `${this.tag(partition)}:rebuild:${token}`;
  }

  /**
   * Hash of the partition's epoch (lua/start_epoch.lua): `epoch`, the Redis time (ms) it began,
   * and `replid`, the replication id of the master it began on. A failover or a rebuild begins a
   * new one, so Postgres tells a SKU's newer counters from a rewind (docs/architecture.md#the-shard-epoch).
   * Scripts find it beside any key of the partition: that key's hash tag, then `:epoch`
   * (lua/includes/epochKey.lua).
   */
  epoch(partition: number): string {
    return `${this.tag(partition)}:epoch`;
  }

  /**
   * Hash move id -> "<source>|<target>|<qty>|<ms>" of the moves between buckets whose source is in
   * this partition and whose units have not yet been added to the target (lua/bucket_move_out.lua).
   */
  bucketMoves(partition: number): string {
    return `${this.tag(partition)}:bucket-moves`;
  }

  /** Written in the target bucket's partition when a move's units were added there (lua/bucket_move_in.lua). */
  bucketMoveIn(targetSku: string, moveId: string): string {
    return `${this.tag(this.partitionOfSku(targetSku))}:bucket-move-in:${moveId}`;
  }

  /** How many partitions the data in Redis is laid out in: every engine sharing it must agree. */
  partitionCount(): string {
    return `${this.prefix}:partition-count`;
  }

  /** Lease held by the one reconciler pass running across all instances. */
  reconcileLease(): string {
    return `${this.prefix}:reconcile-lease`;
  }

  /** Pattern matching every key of this namespace (tests and `flush` tooling only). */
  everything(): string {
    return `${this.prefix}:*`;
  }
}

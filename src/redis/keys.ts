/**
 * Every Redis key the engine uses is built here and nowhere else.
 *
 * All keys of one SKU share the hash tag `{sku:<sku>}`, so a script over one SKU's keys stays in
 * one hash slot. (The reserve, commit and release scripts also touch the record, idempotency and
 * outbox keys, in other slots: the engine runs on one Redis, not yet on a Redis Cluster.)
 * Identifiers reaching this module were validated against patterns without braces, so a client
 * can never choose a key's slot or shape.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Hash: total, available, reserved, sold, version, perUserLimit, startsAt, endsAt. */
  stock(sku: string): string {
    return `${this.prefix}:{sku:${sku}}:stock`;
  }

  /** Sorted set of the SKU's pending hold lines, scored by expiry (ms, Redis time). */
  expiry(sku: string): string {
    return `${this.prefix}:{sku:${sku}}:expiry`;
  }

  /** Hash userId -> units the user holds or has bought of this SKU (for the per-user limit). */
  buyers(sku: string): string {
    return `${this.prefix}:{sku:${sku}}:buyers`;
  }

  /** The same three keys as templates with `%s` for the SKU, for scripts that find SKUs in a record. */
  skuKeyTemplates(): { stock: string; expiry: string; buyers: string } {
    return { stock: this.stock('%s'), expiry: this.expiry('%s'), buyers: this.buyers('%s') };
  }

  /** String: the reservation record, with its TTL (format in lua/includes/reservationRecord.lua). */
  reservation(id: string): string {
    return `${this.prefix}:{res:${id}}`;
  }

  /** String "<reservationId>|<fingerprint>"; keyHash is a digest, never the client's raw key. */
  idempotency(userId: string, keyHash: string): string {
    return `${this.prefix}:{user:${userId}}:idem:${keyHash}`;
  }

  /** Stream of state changes the reconciler drains into Postgres. */
  outbox(partition = 0): string {
    return `${this.prefix}:{outbox:${partition}}:events`;
  }

  /** Consumer group through which the reconciler reads the outbox. */
  outboxGroup(): string {
    return 'reconciler';
  }

  /** Stream of outbox entries Postgres refused as data (kept for an operator, see the README). */
  deadLetters(partition = 0): string {
    return `${this.prefix}:{outbox:${partition}}:dead-letters`;
  }

  /** Sorted set sku -> earliest hold expiry: the SKUs a sweep pass has to visit. */
  sweepDue(): string {
    return `${this.prefix}:sweep-due`;
  }

  /**
   * String written once Redis holds the engine's data (at start-up, after any rebuild). Redis that
   * lost its data (restart without persistence, failover to an empty replica, FLUSHALL) lacks it,
   * which tells "Redis forgot" apart from "never existed".
   */
  dataMarker(): string {
    return `${this.prefix}:data-marker`;
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

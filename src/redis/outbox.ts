import { UnavailableError } from '../domain/errors';
import { allPartitions } from './partitions';
import type { RedisStore } from './redisStore';

/** One stream entry as read: its id and its JSON (see outboxEntry.ts). */
export interface RawOutboxEntry {
  entryId: string;
  json: string;
}

type StreamEntries = [id: string, fields: string[] | null][];

/** An outbox entry Postgres refused as data, as it waits in a dead-letter stream for an operator. */
export interface DeadLetter {
  partition: number;
  /** Its id in the dead-letter stream (the time it was moved there, in ms, before the dash). */
  id: string;
  /** Its id in the outbox stream, and its JSON as the script wrote it. */
  entryId: string;
  json: string;
  error: string;
}

/** The value of `name` in a stream entry's flat field list. */
const field = (fields: string[], name: string) => fields[fields.indexOf(name) + 1];

function rawEntries(entries: StreamEntries): RawOutboxEntry[] {
  // XAUTOCLAIM answers a deleted entry as null: nothing to drain there.
  return entries.filter(([, fields]) => fields !== null).map(([entryId, fields]) => ({ entryId, json: field(fields!, 'e') }));
}

/**
 * The outbox, one stream per partition, as the reconciler drains it: through one consumer group, acknowledging only
 * what Postgres committed, trimming only below the oldest entry not yet acknowledged, and moving
 * entries Postgres refuses as data to the dead-letter stream.
 */
export class Outbox {
  constructor(private readonly store: RedisStore) {}

  /** Where a partition's refused entries go (named in reports and docs/operations.md#dead-letters). */
  deadLettersKey(partition: number): string {
    return this.store.keys.deadLetters(partition);
  }

  /** The newest `limit` dead letters over every partition, newest first. */
  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const streams = this.partitions.map((partition) => this.deadLettersKey(partition));
    const replies = (await this.store.pipelined(streams, (pipeline, key) => pipeline.xrevrange(key, '+', '-', 'COUNT', limit))) as StreamEntries[];
    const letters = replies.flatMap((entries, n) =>
      entries.map(([id, fields]) => ({ partition: this.partitions[n], id, entryId: field(fields!, 'entry'), json: field(fields!, 'e'), error: field(fields!, 'error') })),
    );
    const time = (id: string) => Number(id.split('-')[0]);
    return letters.sort((a, b) => time(b.id) - time(a.id)).slice(0, limit);
  }

  /** Every partition, each with a stream of its own. */
  get partitions(): number[] {
    return allPartitions(this.store.keys.partitions);
  }

  /**
   * The partition's shard epoch as recorded now (lua/start_epoch.lua), null when none began: it
   * changes whenever the partition's data may have been rebuilt or rewound (src/reconciler/drainFence.ts).
   */
  epochOf(partition: number): Promise<string | null> {
    return this.store.call((client) => client.hget(this.store.keys.epoch(partition), 'epoch'));
  }

  async ensureGroup(partition: number): Promise<void> {
    const { keys } = this.store;
    try {
      await this.store.call((client) => client.xgroup('CREATE', keys.outbox(partition), keys.outboxGroup(), '0', 'MKSTREAM'));
    } catch (error) {
      if (!String((error as { cause?: Error }).cause?.message).includes('BUSYGROUP')) throw error;
    }
  }

  /** Entries an earlier pass read but never acknowledged, from `cursor` on; `next` is '0-0' at the end. */
  async claimPending(partition: number, consumer: string, cursor: string, count: number): Promise<{ next: string; entries: RawOutboxEntry[] }> {
    const { keys } = this.store;
    const [next, entries] = (await this.readReplicated(['xautoclaim', keys.outbox(partition), keys.outboxGroup(), consumer, 0, cursor, 'COUNT', count])) as [
      string,
      StreamEntries,
    ];
    return { next, entries: rawEntries(entries) };
  }

  /** Entries no consumer has read yet. */
  async readNew(partition: number, consumer: string, count: number): Promise<RawOutboxEntry[]> {
    const { keys } = this.store;
    const reply = (await this.readReplicated(['xreadgroup', 'GROUP', keys.outboxGroup(), consumer, 'COUNT', count, 'STREAMS', keys.outbox(partition), '>'])) as
      | [string, StreamEntries][]
      | null;
    return reply ? rawEntries(reply[0][1]) : [];
  }

  /**
   * Reads entries with XREADGROUP or XAUTOCLAIM. With REDIS_WAIT_REPLICAS, the read is followed on
   * its connection by a WAIT, and entries are handed to Postgres only once the replicas have
   * everything the master wrote before the read (replication is one stream, and the read itself is
   * a write of the group's state): Postgres never learns a change a promoted replica could lack.
   * Otherwise a failover after the drain would leave Postgres ahead of Redis (a hold answered 503
   * for want of replicas, drained all the same). Short of replicas, the pass stops here (503); the
   * entries stay pending for the next pass.
   */
  private async readReplicated([command, ...args]: [string, ...(string | number)[]]): Promise<unknown> {
    const { replicas, timeoutMs } = this.store.tuning.redisWait;
    if (!replicas) return this.store.call((client) => client.call(command, ...args));
    const [[readError, entries], waited] = await this.store.call(
      async (client) => (await client.pipeline().call(command, ...args).wait(replicas, timeoutMs).exec()) as [Error | null, unknown][],
    );
    if (readError) throw new UnavailableError('Redis', readError);
    if (waited[0] || (waited[1] as number) < replicas) {
      const why = waited[0] ?? new Error(`REDIS_WAIT_REPLICAS is ${replicas}, but ${waited[1]} replicas had the outbox within ${timeoutMs} ms`);
      throw new UnavailableError('Redis', why, 'the outbox is drained once the replicas have it');
    }
    return entries;
  }

  /**
   * The partition's entries after `afterId` (null: from the oldest still in the stream) up to
   * `entryId`, at most `limit`. Read as the drain reads (readReplicated), so that Postgres never
   * learns a change a promoted replica could lack.
   */
  async entriesUpTo(partition: number, afterId: string | null, entryId: string, limit: number): Promise<RawOutboxEntry[]> {
    const from = afterId ? `(${afterId}` : '-';
    return rawEntries((await this.readReplicated(['xrange', this.store.keys.outbox(partition), from, entryId, 'COUNT', limit])) as StreamEntries);
  }

  async acknowledge(partition: number, entryIds: string[]): Promise<void> {
    const { keys } = this.store;
    await this.store.call((client) => client.xack(keys.outbox(partition), keys.outboxGroup(), ...entryIds));
  }

  /** Moves an entry Postgres refused, with the reason, to the dead-letter stream, and acknowledges it. */
  async deadLetter(partition: number, entry: RawOutboxEntry, reason: string): Promise<void> {
    await this.store.call((client) => client.xadd(this.deadLettersKey(partition), '*', 'entry', entry.entryId, 'e', entry.json, 'error', reason));
    await this.acknowledge(partition, [entry.entryId]);
  }

  /** Drops stream entries older than the oldest one still pending (or all delivered, if none is). */
  async trimAcknowledged(partition: number): Promise<void> {
    const { keys } = this.store;
    const stream = keys.outbox(partition);
    const [pendingCount, oldestPending] = (await this.store.call((client) => client.xpending(stream, keys.outboxGroup()))) as [number, string | null];
    let keepFrom = pendingCount > 0 ? oldestPending : null;
    if (!keepFrom) {
      const groups = (await this.store.call((client) => client.xinfo('GROUPS', stream))) as (string | number)[][];
      const group = groups.find((fields) => fields[fields.indexOf('name') + 1] === keys.outboxGroup());
      keepFrom = group ? String(group[group.indexOf('last-delivered-id') + 1]) : null;
    }
    if (keepFrom && keepFrom !== '0-0') await this.store.call((client) => client.xtrim(stream, 'MINID', keepFrom));
  }
}

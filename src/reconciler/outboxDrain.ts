import os from 'node:os';
import { UnavailableError } from '../domain/errors';
import type { Database } from '../db/client';
import type { StockEngine } from '../redis/stockEngine';
import { applyWritePlan } from './applyWritePlan';
import { type OutboxEntry, parseEntry } from './events';
import { planWrites } from './writePlan';

export const CONSUMER_GROUP = 'reconciler';
/** Concurrent Postgres transactions per batch (PGlite runs them one after another). */
const WRITE_PARTITIONS = 2;

export interface DrainOptions {
  /** Stream entries per Postgres transaction (an entry holds the events of one script call, up to 128). */
  batchSize?: number;
  /** Stop after this long even if more is waiting (the next pass goes on). */
  timeBudgetMs?: number;
  consumer?: string;
  /** Called after each batch is committed, with its entries (metrics). */
  onBatch?: (entries: OutboxEntry[]) => void;
}

type StreamEntries = [id: string, fields: string[]][];

function toEntries(raw: StreamEntries): OutboxEntry[] {
  return raw.map(([entryId, fields]) => parseEntry(entryId, fields[fields.indexOf('e') + 1]));
}

/**
 * Moves outbox events into Postgres: reads with a consumer group, writes each batch in one
 * transaction of idempotent statements, acknowledges only after that transaction committed, then
 * trims the stream below the oldest entry not yet acknowledged. Entries a crashed pass left
 * pending are claimed first (passes never overlap: the reconciler lease guarantees it).
 * Returns the number of events written (an entry holds the events of one script call).
 */
export async function drainOutbox(engine: StockEngine, db: Database, options: DrainOptions = {}): Promise<number> {
  const { redis, keys } = engine;
  const stream = keys.outbox();
  const batchSize = options.batchSize ?? 100;
  const consumer = options.consumer ?? `${os.hostname()}-${process.pid}`;
  const deadline = Date.now() + (options.timeBudgetMs ?? 30_000);
  await ensureGroup(engine);

  let written = 0;
  const apply = async (entries: OutboxEntry[]) => {
    try {
      // The partitions are written concurrently, each in its own transaction; the entries are
      // acknowledged only once all have committed (a retry rewrites what already landed, harmlessly).
      await Promise.all(planWrites(entries, WRITE_PARTITIONS).map((plan) => applyWritePlan(db, plan)));
    } catch (error) {
      throw new UnavailableError('Postgres', error);
    }
    await redis.xack(stream, CONSUMER_GROUP, ...entries.map((entry) => entry.entryId));
    for (const entry of entries) written += entry.events.length;
    options.onBatch?.(entries);
  };

  // 1. Whatever an earlier pass read but never acknowledged.
  let cursor = '0-0';
  do {
    const [next, claimed] = (await redis.xautoclaim(stream, CONSUMER_GROUP, consumer, 0, cursor, 'COUNT', batchSize)) as [string, StreamEntries];
    const entries = toEntries(claimed.filter((entry) => entry !== null && entry[1] !== null));
    if (entries.length) await apply(entries);
    cursor = next;
  } while (cursor !== '0-0' && Date.now() < deadline);

  // 2. New entries.
  while (Date.now() < deadline) {
    const reply = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, consumer, 'COUNT', batchSize, 'STREAMS', stream, '>')) as [string, StreamEntries][] | null;
    const entries = reply ? toEntries(reply[0][1]) : [];
    if (!entries.length) break;
    await apply(entries);
  }

  await trimAcknowledged(engine);
  return written;
}

async function ensureGroup(engine: StockEngine): Promise<void> {
  try {
    await engine.redis.xgroup('CREATE', engine.keys.outbox(), CONSUMER_GROUP, '0', 'MKSTREAM');
  } catch (error) {
    if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
  }
}

/** Drops stream entries older than the oldest one still pending (or all delivered, if none is). */
async function trimAcknowledged(engine: StockEngine): Promise<void> {
  const { redis, keys } = engine;
  const stream = keys.outbox();
  const [pendingCount, oldestPending] = (await redis.xpending(stream, CONSUMER_GROUP)) as [number, string | null];
  let keepFrom = pendingCount > 0 ? oldestPending : null;
  if (!keepFrom) {
    const groups = (await redis.xinfo('GROUPS', stream)) as (string | number)[][];
    const group = groups.find((fields) => fields[fields.indexOf('name') + 1] === CONSUMER_GROUP);
    keepFrom = group ? String(group[group.indexOf('last-delivered-id') + 1]) : null;
  }
  if (keepFrom && keepFrom !== '0-0') await redis.xtrim(stream, 'MINID', keepFrom);
}

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

export interface DrainResult {
  /** Events written to Postgres (an entry holds the events of one script call). */
  written: number;
  /** Entries Postgres refused as data, moved to the dead-letter stream. */
  deadLettered: number;
}

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

/**
 * Postgres refused the data itself (SQLSTATE class 22 data exception, 23 constraint violation):
 * retrying cannot help, unlike a lost connection.
 */
function isDataError(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && /^2[23][0-9A-Z]{3}$/.test(e.code)) return true;
  }
  return false;
}

/** Parsed entries, and each entry's raw JSON by id (what a dead letter keeps). */
function toEntries(raw: StreamEntries): [OutboxEntry[], Map<string, string>] {
  const json = new Map(raw.map(([entryId, fields]) => [entryId, fields[fields.indexOf('e') + 1]]));
  return [raw.map(([entryId]) => parseEntry(entryId, json.get(entryId)!)), json];
}

/**
 * Moves outbox events into Postgres: reads with a consumer group, writes each batch in one
 * transaction of idempotent statements, acknowledges only after that transaction committed, then
 * trims the stream below the oldest entry not yet acknowledged. Entries a crashed pass left
 * pending are claimed first (passes never overlap: the reconciler lease guarantees it).
 * An entry Postgres refuses as data would block every entry behind it forever: a batch refused
 * that way is retried entry by entry, and the entries refused alone are moved, with the error, to
 * the dead-letter stream for an operator, then acknowledged.
 */
export async function drainOutbox(engine: StockEngine, db: Database, options: DrainOptions = {}): Promise<DrainResult> {
  const { redis, keys } = engine;
  const stream = keys.outbox();
  const batchSize = options.batchSize ?? 100;
  const consumer = options.consumer ?? `${os.hostname()}-${process.pid}`;
  const deadline = Date.now() + (options.timeBudgetMs ?? 30_000);
  await ensureGroup(engine);

  const result: DrainResult = { written: 0, deadLettered: 0 };
  // The partitions are written concurrently, each in its own transaction; the entries are
  // acknowledged only once all have committed (a retry rewrites what already landed, harmlessly).
  // A single entry is one transaction: refused as data, nothing of it lands before its dead letter.
  const write = (entries: OutboxEntry[]) =>
    Promise.all(planWrites(entries, entries.length === 1 ? 1 : WRITE_PARTITIONS).map((plan) => applyWritePlan(db, plan)));
  const acknowledge = async (entries: OutboxEntry[]) => {
    await redis.xack(stream, CONSUMER_GROUP, ...entries.map((entry) => entry.entryId));
    for (const entry of entries) result.written += entry.events.length;
    options.onBatch?.(entries);
  };
  const apply = async (entries: OutboxEntry[], raw: Map<string, string>) => {
    try {
      await write(entries);
      return acknowledge(entries);
    } catch (error) {
      if (!isDataError(error)) throw new UnavailableError('Postgres', error);
    }
    for (const entry of entries) {
      try {
        await write([entry]);
        await acknowledge([entry]);
      } catch (error) {
        if (!isDataError(error)) throw new UnavailableError('Postgres', error);
        const reason = String((error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message);
        await redis.xadd(keys.deadLetters(), '*', 'entry', entry.entryId, 'e', raw.get(entry.entryId) ?? '', 'error', reason);
        await redis.xack(stream, CONSUMER_GROUP, entry.entryId);
        result.deadLettered += 1;
      }
    }
  };

  // 1. Whatever an earlier pass read but never acknowledged.
  let cursor = '0-0';
  do {
    const [next, claimed] = (await redis.xautoclaim(stream, CONSUMER_GROUP, consumer, 0, cursor, 'COUNT', batchSize)) as [string, StreamEntries];
    const [entries, raw] = toEntries(claimed.filter((entry) => entry !== null && entry[1] !== null));
    if (entries.length) await apply(entries, raw);
    cursor = next;
  } while (cursor !== '0-0' && Date.now() < deadline);

  // 2. New entries.
  while (Date.now() < deadline) {
    const reply = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, consumer, 'COUNT', batchSize, 'STREAMS', stream, '>')) as [string, StreamEntries][] | null;
    const [entries, raw] = toEntries(reply ? reply[0][1] : []);
    if (!entries.length) break;
    await apply(entries, raw);
  }

  await trimAcknowledged(engine);
  return result;
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

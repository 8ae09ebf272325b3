import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SQL, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** What a raw statement needs: the database or one of its transactions. */
export type StatementRunner = Pick<Database, 'execute'>;

export interface DatabaseHandle {
  db: Database;
  /** 'postgres' for a server reached through DATABASE_URL, 'pglite' for the embedded one. */
  kind: 'postgres' | 'pglite';
  /** The driver's own client (postgres.js Sql or PGlite). */
  client: unknown;
  close(): Promise<void>;
}

/**
 * Opens Postgres through postgres.js when a URL is given, else an embedded PGlite under
 * `<dataDir>/pglite` (or in memory when dataDir is 'memory://'), and applies the migrations in
 * drizzle/ (unless told not to) before returning.
 */
export async function openDatabase(options: { url?: string; dataDir: string; migrate?: boolean }): Promise<DatabaseHandle> {
  const handle = options.url ? await openPostgres(options.url) : await openPglite(options.dataDir);
  if (options.migrate ?? true) await migrateDatabase(handle, options.url);
  return handle;
}

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const sql = postgres(url, { max: 10, onnotice: () => {}, connect_timeout: 5, idle_timeout: 30 });
  const db = drizzle(sql, { schema }) as unknown as Database;
  return { db, kind: 'postgres', client: sql, close: () => sql.end({ timeout: 5 }) };
}

async function openPglite(dataDir: string): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  let location = dataDir;
  if (dataDir !== 'memory://') {
    location = path.join(dataDir, 'pglite');
    mkdirSync(location, { recursive: true });
  }
  const client = await PGlite.create(location);
  const db = drizzle(client, { schema }) as unknown as Database;
  return { db, kind: 'pglite', client, close: () => client.close() };
}

/**
 * Engines rolled out together all start on the same (maybe empty) database, and drizzle's migrator
 * is not safe to run twice at once (both would CREATE the same tables). So on a Postgres server
 * the migrations run on a connection of their own that holds a session-level advisory lock
 * throughout: the others wait, then find every migration applied. PGlite has one process only.
 */
export const MIGRATION_LOCK_KEY = 0x666c6173; // "flas"

async function migrateDatabase(handle: DatabaseHandle, url: string | undefined): Promise<void> {
  if (url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    const single = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      await single`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      await migrate(drizzle(single), { migrationsFolder: MIGRATIONS_DIR });
      await single`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    } finally {
      await single.end({ timeout: 5 });
    }
  } else {
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    await migrate(handle.db as never, { migrationsFolder: MIGRATIONS_DIR });
  }
}

/**
 * Runs a raw statement and returns its rows, whichever driver is underneath (postgres.js answers an
 * array, PGlite `{ rows }`); `db` may be a transaction.
 */
export async function queryRows<T = Record<string, unknown>>(db: StatementRunner, statement: SQL): Promise<T[]> {
  const result: unknown = await db.execute(statement);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/**
 * Runs row queries as one statement, so that they all read one snapshot of Postgres: a statement
 * sees the database as it stood when it began, in or out of a transaction, and with the embedded
 * Postgres the engine's other threads send single statements only. Each query's rows come back as
 * JSON objects named by their columns (timestamps as ISO text), in no promised order.
 */
export async function queryAtOnce<K extends string>(db: StatementRunner, queries: Record<K, SQL>): Promise<Record<K, Record<string, unknown>[]>> {
  const names = Object.keys(queries) as K[];
  const parts = names.map((name) => sql`${name}::text, (select coalesce(json_agg(q), '[]'::json) from (${queries[name]}) q)`);
  const [row] = await queryRows<{ rows: Record<K, Record<string, unknown>[]> | string }>(db, sql`select json_build_object(${sql.join(parts, sql`, `)}) as rows`);
  // postgres.js parses json; the embedded Postgres's proxy may hand it over as text.
  return typeof row.rows === 'string' ? JSON.parse(row.rows) : row.rows;
}

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

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
  if (options.migrate ?? true) await migrateDatabase(handle);
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

async function migrateDatabase(handle: DatabaseHandle): Promise<void> {
  if (handle.kind === 'postgres') {
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    await migrate(handle.db as never, { migrationsFolder: MIGRATIONS_DIR });
  } else {
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    await migrate(handle.db as never, { migrationsFolder: MIGRATIONS_DIR });
  }
}

/** Runs a raw statement and returns its rows, whichever driver is underneath (postgres.js answers an array, PGlite `{ rows }`). */
export async function queryRows<T = Record<string, unknown>>(db: Database, statement: SQL): Promise<T[]> {
  const result: unknown = await db.execute(statement);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

import { DrizzleQueryError } from 'drizzle-orm';
import { UnavailableError } from '../domain/errors';

/** Postgres refused or could not be reached (drizzle wraps every query's failure): the engine fails closed, 503. */
export function failingClosed(error: unknown): unknown {
  return error instanceof DrizzleQueryError ? new UnavailableError('Postgres', error) : error;
}

/** Whether a statement failed on a unique key (SQLSTATE 23505): drizzle's error carries the driver's as its cause. */
export function isUniqueViolation(error: unknown): boolean {
  const cause = error instanceof DrizzleQueryError ? error.cause : error;
  return (cause as { code?: unknown } | undefined)?.code === '23505';
}

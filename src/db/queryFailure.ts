import { DrizzleQueryError } from 'drizzle-orm';
import { UnavailableError } from '../domain/errors';

/** Postgres refused or could not be reached (drizzle wraps every query's failure): the engine fails closed, 503. */
export function failingClosed(error: unknown): unknown {
  return error instanceof DrizzleQueryError ? new UnavailableError('Postgres', error) : error;
}

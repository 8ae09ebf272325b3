import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * An onRequest hook demanding `Authorization: Bearer <token>`. With no token configured it refuses
 * every request when `required` (admin routes) and lets every request through otherwise.
 */
export function bearerAuth(token: string | undefined, options: { required: boolean; variable: string }) {
  return async (request: FastifyRequest): Promise<void> => {
    if (token === undefined) {
      if (!options.required) return;
      throw new DomainError('UNAUTHORIZED', `These routes are disabled until ${options.variable} is set.`);
    }
    const header = request.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (given === undefined || !sameSecret(given, token)) {
      throw new DomainError('UNAUTHORIZED', 'Missing or wrong bearer token.');
    }
  };
}

import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config';
import { DomainError } from '../domain/errors';
import { singleHeaderValue } from './validation';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The settings of one kind of token: admin calls require one; client calls are open without one. */
export interface TokenRule {
  token: string | undefined;
  required: boolean;
  /** The environment variable that sets it, named in the refusal. */
  variable: string;
  /** Another token that opens the same calls (the admin token opens the client routes). */
  alsoAccepted?: string;
}

/** Who may call what, the same over HTTP and gRPC. */
export function tokenRules(config: Pick<Config, 'apiToken' | 'adminToken' | 'metricsToken'>): { client: TokenRule; admin: TokenRule; metrics: TokenRule } {
  return {
    // Prometheus scrapes with its own token; the dashboard reads /metrics with the admin token.
    metrics: { token: config.metricsToken, required: false, variable: 'METRICS_TOKEN', alsoAccepted: config.adminToken },
    // The admin token opens the client routes too: the dashboard follows /v1/events with it.
    client: { token: config.apiToken, required: false, variable: 'API_TOKEN', alsoAccepted: config.adminToken },
    admin: { token: config.adminToken, required: true, variable: 'ADMIN_TOKEN' },
  };
}

/**
 * Demands `Bearer <token>` in an authorization header (HTTP) or metadata entry (gRPC). With no
 * token configured it refuses every caller when `required` (admin) and lets every caller through
 * otherwise.
 */
export function checkBearer(authorization: string | undefined, { token, required, variable, alsoAccepted }: TokenRule): void {
  if (token === undefined) {
    if (!required) return;
    throw new DomainError('UNAUTHORIZED', `These routes are disabled until ${variable} is set.`);
  }
  const given = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
  // Checked on every client call: no list built per request.
  const accepted = given !== undefined && (sameSecret(given, token) || (alsoAccepted !== undefined && sameSecret(given, alsoAccepted)));
  if (!accepted) {
    throw new DomainError('UNAUTHORIZED', 'Missing or wrong bearer token.');
  }
}

/** Whether a rule checks any token: client routes with no API_TOKEN (or /metrics with no METRICS_TOKEN) let every caller through. */
const checksToken = ({ token, required }: TokenRule) => token !== undefined || required;

/**
 * An onRequest hook demanding `Authorization: Bearer <token>` (checkBearer); a callback, as it runs
 * on every call. A rule that checks no token reads no header: a repeated one is then ignored too.
 */
export function bearerAuth(rule: TokenRule) {
  if (!checksToken(rule)) return (_request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => done();
  return (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
    try {
      checkBearer(singleHeaderValue(request, 'authorization'), rule);
    } catch (error) {
      return done(error as Error);
    }
    done();
  };
}

/**
 * Guards a scope's routes with bearerAuth, unless the rule checks no token: then no hook is added,
 * since every request would pay for one that checks nothing.
 */
export function guardScope(scope: FastifyInstance, rule: TokenRule): void {
  if (checksToken(rule)) scope.addHook('onRequest', bearerAuth(rule));
}

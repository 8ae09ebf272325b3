import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { failingClosed } from '../db/queryFailure';
import { DomainError, type ErrorCode, ERROR_STATUS, INTERNAL_ERROR_MESSAGE } from '../domain/errors';
import { validationFailed } from './validation';

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

function body(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

/** Fastify's own client errors, by their code, as ours. */
const FRAMEWORK_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  // The router's: a path parameter with a bad %-escape, or longer than any SKU or id can be.
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
  FST_ERR_MAX_PARAM_LENGTH: 'VALIDATION_FAILED',
};

/** An error as the client sees it. */
interface Answer {
  status: number;
  code: ErrorCode;
  message: string;
  details?: unknown;
}

const answer = (code: ErrorCode, message: string, details?: unknown, status: number = ERROR_STATUS[code]): Answer => ({ status, code, message, details });

/** What any error thrown while serving a request means for the client. */
function answerFor(error: FastifyError, request: FastifyRequest): Answer {
  const failure = failingClosed(error);
  if (failure instanceof DomainError) {
    if (failure.code === 'UNAVAILABLE') request.server.runtime?.outages.failed(failure);
    else if (failure.status >= 500) request.log.warn({ err: failure.cause ?? failure }, failure.message);
    return answer(failure.code, failure.message, failure.details);
  }
  if (error.validation) {
    const refusal = validationFailed(error.validationContext, error.validation, error.message);
    return answer(refusal.code, refusal.message, refusal.details);
  }
  const frameworkCode = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
  if (frameworkCode) return answer(frameworkCode, error.message);
  if (error instanceof SyntaxError || (error.statusCode === 400 && error.message.includes('JSON'))) {
    return answer('INVALID_JSON', `Body is not valid JSON: ${error.message}`);
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return answer('VALIDATION_FAILED', error.message, undefined, error.statusCode);
  }
  request.log.error({ err: error }, 'unhandled error');
  return answer('INTERNAL', INTERNAL_ERROR_MESSAGE);
}

/**
 * The one place errors become responses, so every route, the 404 of an unknown route and the
 * framework's own refusals all answer `{ error: { code, message, details } }`. It is also the
 * server's `frameworkErrors` option (app.ts): the router refuses a bad URL before any error handler.
 * The code is kept on the reply (`outcome`) for the hooks that count answers.
 */
export function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, code, message, details } = answerFor(error, request);
  reply.outcome = code;
  return reply.code(status).send(body(code, message, details));
}

declare module 'fastify' {
  interface FastifyReply {
    /** How the request ended, for the hooks that count answers: a route's own word, or the error code. */
    outcome: string;
  }
}

export function installErrorHandling(app: FastifyInstance): void {
  app.decorateReply('outcome', '');
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(body('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));
  });
}

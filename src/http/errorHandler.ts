import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode, ERROR_STATUS } from '../domain/errors';

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

/**
 * The one place errors become responses, so every route, the 404 of an unknown route and the
 * framework's own refusals all answer `{ error: { code, message, details } }`. It is also the
 * server's `frameworkErrors` option (app.ts): the router refuses a bad URL before any error handler.
 */
export function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof DomainError) {
    if (error.status >= 500) request.log.warn({ err: error.cause ?? error }, error.message);
    return reply.code(error.status).send(body(error.code, error.message, error.details));
  }
  if (error.validation) {
    const details = error.validation.map((issue) => ({
      in: error.validationContext,
      path: issue.instancePath || undefined,
      message: issue.message,
      params: issue.params,
    }));
    return reply.code(400).send(body('VALIDATION_FAILED', `Invalid request ${error.validationContext}: ${error.message}`, details));
  }
  const frameworkCode = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
  if (frameworkCode) return reply.code(ERROR_STATUS[frameworkCode]).send(body(frameworkCode, error.message));
  if (error instanceof SyntaxError || (error.statusCode === 400 && error.message.includes('JSON'))) {
    return reply.code(400).send(body('INVALID_JSON', `Body is not valid JSON: ${error.message}`));
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return reply.code(error.statusCode).send(body('VALIDATION_FAILED', error.message));
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.code(500).send(body('INTERNAL', 'Internal error; nothing is known to have changed.'));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(body('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));
  });
}

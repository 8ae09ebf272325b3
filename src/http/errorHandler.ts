import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
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
  // @fastify/static's 403 for a path leaving its folder (/docs/static/%2e%2e/…): nothing is served there either.
  if (error.statusCode === 403 || error.statusCode === 404) return answer('NOT_FOUND', 'Nothing is served at this path.');
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
  // Answered before its body arrived (too large, unauthorized): `complete` is false, and unset under inject.
  if (request.raw.complete === false) drainBody(request.raw, reply);
  return reply.code(status).send(body(code, message, details));
}

/** The answer of each refusal object sendRefusal sent, as text: a sold-out refusal is one object per SKU and quantity. */
const refusalTexts = new WeakMap<DomainError, string>();

/**
 * Answers a refusal (a DomainError of status 4xx) from the route itself, as sendError would, but
 * without the error path's rejections and the schema serializer: its text is made once per
 * refusal object. The sold-out answers of src/redis/soldOutWatch.ts come this way.
 */
export function sendRefusal(reply: FastifyReply, refusal: DomainError): FastifyReply {
  let text = refusalTexts.get(refusal);
  if (text === undefined) {
    text = JSON.stringify(body(refusal.code, refusal.message, refusal.details));
    refusalTexts.set(refusal, text);
  }
  reply.outcome = refusal.code;
  return reply.code(refusal.status).type('application/json; charset=utf-8').send(text);
}

/** How much of a refused body is read (and discarded) so a client still sending it gets the answer. */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 30_000;

/**
 * Keeps the connection and reads the rest of a body the answer refuses. Closing it (Fastify's
 * choice) with the body unread makes the kernel reset it, and a client still sending (fetch of a
 * 2 MiB body) then fails with EPIPE instead of reading the 413. Beyond the bounds it is cut.
 */
function drainBody(raw: IncomingMessage, reply: FastifyReply): void {
  reply.removeHeader('connection');
  let read = 0;
  const cut = () => raw.socket.destroy();
  const timer = setTimeout(cut, DRAIN_TIMEOUT_MS);
  raw.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > DRAIN_LIMIT_BYTES) cut();
  });
  raw.once('close', () => clearTimeout(timer));
}

/** Node's parser refused the request (its reason in `reason`); the statuses are Node's own. */
function parserRefusal(error: NodeJS.ErrnoException & { reason?: string }): Answer {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return answer('HEADERS_TOO_LARGE', 'The request headers are too large.');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return answer('PAYLOAD_TOO_LARGE', 'The chunk extensions of the body are too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return answer('REQUEST_TIMEOUT', 'The request did not arrive in time.');
    default:
      return answer('VALIDATION_FAILED', `Malformed HTTP request: ${error.reason ?? error.message}.`);
  }
}

/**
 * The server's `clientErrorHandler` (app.ts): a request Node's parser refused (a malformed request
 * line, Content-Length with Transfer-Encoding, headers too large) has no reply object, so the
 * answer is written to the socket, in the one error shape, and the connection closed.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection has nobody to answer; an answered one only reports each later chunk again.
  if (error.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return;
  const { status, code, message } = parserRefusal(error);
  const json = JSON.stringify(body(code, message));
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close`;
  socket.end(`${head}\r\n\r\n${json}`, () => socket.destroy());
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

import type { ServerErrorResponse } from '@grpc/grpc-js';
import type { FastifyBaseLogger } from 'fastify';
import { failingClosed } from '../db/queryFailure';
import { DomainError, INTERNAL_ERROR_MESSAGE } from '../domain/errors';
import type { OutageLog } from '../outageLog';
import { errorTrailers } from './errorDetails';
import { GRPC_STATUS_OF_ERROR } from './statusOfError';

/** The API error a thrown error stands for, as the HTTP error handler reads it: anything unknown is INTERNAL. */
export function apiErrorFor(error: unknown): DomainError {
  const failure = failingClosed(error);
  return failure instanceof DomainError ? failure : new DomainError('INTERNAL', INTERNAL_ERROR_MESSAGE);
}

/**
 * What a failed call answers: the gRPC status of its error code (statusOfError.ts), the message a
 * reader sees, and the code string and details in the trailers (errorDetails.ts).
 */
export function serviceError(error: unknown, log: FastifyBaseLogger, outages: OutageLog): Partial<ServerErrorResponse> {
  const failure = apiErrorFor(error);
  if (failure.code === 'INTERNAL') log.error({ err: error }, 'unhandled error in a gRPC call');
  else if (failure.code === 'UNAVAILABLE') outages.failed(failure);
  else if (failure.status >= 500) log.warn({ err: failure.cause ?? failure }, failure.message);
  const code = GRPC_STATUS_OF_ERROR[failure.code];
  return { code, details: failure.message, metadata: errorTrailers(code, failure.message, { code: failure.code, details: failure.details }) };
}

import { Metadata } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

/** Trailer with the API's error code string (INSUFFICIENT_STOCK…), the same as HTTP's `error.code`. */
export const ERROR_CODE_TRAILER = 'flashsale-error-code';
/** Trailer with the HTTP error's `details` as JSON text, when it has some. */
export const ERROR_DETAILS_TRAILER = 'flashsale-error-details';
/** The standard trailer of a google.rpc.Status, which gRPC clients of every language decode. */
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';
/** google.rpc.ErrorInfo's domain: the service that answered. */
export const ERROR_DOMAIN = 'flashsale.v1';

const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';

/** google.rpc.Status and google.rpc.ErrorInfo, the fields used here, as google/rpc/*.proto define them. */
// A map field (ErrorInfo.metadata) is an IMapField, which fromJSON's parameter type does not list.
const rpc = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: { nested: { Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } } } },
        rpc: {
          nested: {
            Status: {
              fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 } },
            },
            ErrorInfo: {
              fields: { reason: { type: 'string', id: 1 }, domain: { type: 'string', id: 2 }, metadata: { keyType: 'string', type: 'string', id: 3 } },
            },
          },
        },
      },
    },
  },
} as protobuf.INamespace);
const StatusMessage = rpc.lookupType('google.rpc.Status');
const ErrorInfoMessage = rpc.lookupType('google.rpc.ErrorInfo');

/** An API error as a client reads it back from a gRPC call's trailers. */
export interface ApiErrorInfo {
  code: string;
  details?: unknown;
}

/**
 * The trailers of a failed call: the code string and details in trailers of their own (easy to
 * read from any client), and the same as a google.rpc.Status holding a google.rpc.ErrorInfo.
 */
export function errorTrailers(grpcCode: number, message: string, error: ApiErrorInfo): Metadata {
  const trailers = new Metadata();
  trailers.set(ERROR_CODE_TRAILER, error.code);
  const detailsJson = error.details === undefined ? undefined : JSON.stringify(error.details);
  if (detailsJson !== undefined) trailers.set(ERROR_DETAILS_TRAILER, detailsJson);
  const info = ErrorInfoMessage.encode({ reason: error.code, domain: ERROR_DOMAIN, metadata: detailsJson === undefined ? {} : { details: detailsJson } }).finish();
  const status = StatusMessage.encode({ code: grpcCode, message, details: [{ type_url: ERROR_INFO_TYPE_URL, value: info }] }).finish();
  trailers.set(STATUS_DETAILS_TRAILER, Buffer.from(status));
  return trailers;
}

/** The API error a failed call's trailers carry, read from its google.rpc.Status; undefined when it has none. */
export function apiErrorOf(trailers: Metadata | undefined): ApiErrorInfo | undefined {
  const [raw] = trailers?.get(STATUS_DETAILS_TRAILER) ?? [];
  if (!Buffer.isBuffer(raw)) return undefined;
  const status = StatusMessage.toObject(StatusMessage.decode(raw)) as { details?: { type_url: string; value: Uint8Array }[] };
  const any = status.details?.find((detail) => detail.type_url === ERROR_INFO_TYPE_URL);
  if (!any) return undefined;
  const info = ErrorInfoMessage.toObject(ErrorInfoMessage.decode(any.value)) as { reason: string; metadata?: Record<string, string> };
  const details = info.metadata?.details;
  return details === undefined ? { code: info.reason } : { code: info.reason, details: JSON.parse(details) };
}

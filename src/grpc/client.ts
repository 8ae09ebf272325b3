import { type ChannelCredentials, type ChannelOptions, Metadata, type ServiceError, credentials, status } from '@grpc/grpc-js';
import { apiErrorOf } from './errorDetails';
import type { InventoryClient, InventoryDefinition } from './generated/flashsale/v1/Inventory';
import { loadInventoryProto } from './protoFiles';

export interface InventoryClientOptions {
  /** Sent with UpdateStock (ADMIN_TOKEN of the engine). */
  adminToken?: string;
  /** Sent with every other call, when the engine has API_TOKEN set. */
  apiToken?: string;
  /** Default: plain text, as the engine serves. */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
}

/** What one call may add: the idempotency key of a reserve or a join, a deadline. */
export interface InventoryCallOptions {
  idempotencyKey?: string;
  deadline?: Date;
}

/** A refused call: the gRPC status, and the API's error code string and details from its trailers. */
export class InventoryCallError extends Error {
  /** The gRPC status (status.FAILED_PRECONDITION…). */
  readonly status: status;
  /** The API's code string (INSUFFICIENT_STOCK…), as HTTP answers it in error.code; UNKNOWN when the engine did not answer. */
  readonly errorCode: string;
  readonly details?: unknown;

  constructor(readonly cause: ServiceError) {
    super(cause.details || cause.message);
    this.name = 'InventoryCallError';
    this.status = cause.code;
    const apiError = apiErrorOf(cause.metadata);
    this.errorCode = apiError?.code ?? 'UNKNOWN';
    this.details = apiError?.details;
  }
}

type MethodName = keyof InventoryDefinition & string;
/** What a method takes (plain objects) and answers (unset fields left out, repeated ones arrays). */
type RequestOf<M extends MethodName> = Parameters<InventoryDefinition[M]['requestSerialize']>[0];
type ResponseOf<M extends MethodName> = ReturnType<InventoryDefinition[M]['responseDeserialize']>;
type UnaryMethod = (argument: unknown, metadata: Metadata, options: { deadline?: Date }, callback: (error: ServiceError | null, response?: unknown) => void) => unknown;

/**
 * A client of flashsale.v1.Inventory whose calls return promises; a refusal rejects with an
 * InventoryCallError. `address` is `host:port` (GRPC_PORT of the engine).
 */
export function createInventoryClient(address: string, options: InventoryClientOptions = {}) {
  const { proto } = loadInventoryProto();
  const client = new proto.flashsale.v1.Inventory(address, options.credentials ?? credentials.createInsecure(), options.channelOptions) as InventoryClient;

  function metadataFor(token: string | undefined, callOptions: InventoryCallOptions): Metadata {
    const metadata = new Metadata();
    if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
    if (callOptions.idempotencyKey !== undefined) metadata.set('idempotency-key', callOptions.idempotencyKey);
    return metadata;
  }

  function call<M extends MethodName>(name: M, token: string | undefined) {
    const method = client[name as keyof InventoryClient] as unknown as UnaryMethod;
    return (request: RequestOf<M>, callOptions: InventoryCallOptions = {}): Promise<ResponseOf<M>> =>
      new Promise((resolve, reject) => {
        method.call(client, request, metadataFor(token, callOptions), { deadline: callOptions.deadline }, (error, response) =>
          error ? reject(new InventoryCallError(error)) : resolve(response as ResponseOf<M>),
        );
      });
  }

  const { apiToken, adminToken } = options;
  return {
    checkStock: call('CheckStock', apiToken),
    bulkCheckStock: call('BulkCheckStock', apiToken),
    getStock: call('GetStock', apiToken),
    reserveStock: call('ReserveStock', apiToken),
    getReservation: call('GetReservation', apiToken),
    commitReservation: call('CommitReservation', apiToken),
    releaseReservation: call('ReleaseReservation', apiToken),
    extendReservation: call('ExtendReservation', apiToken),
    updateStock: call('UpdateStock', adminToken),
    joinLine: call('JoinLine', apiToken),
    getTicket: call('GetTicket', apiToken),
    leaveLine: call('LeaveLine', apiToken),
    /** The generated client underneath, for streaming options or metadata of your own. */
    raw: client,
    close: () => client.close(),
  };
}

export type InventoryClientApi = ReturnType<typeof createInventoryClient>;

// Original file: proto/flashsale/v1/inventory.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BulkCheckStockRequest as _flashsale_v1_BulkCheckStockRequest, BulkCheckStockRequest__Output as _flashsale_v1_BulkCheckStockRequest__Output } from '../../flashsale/v1/BulkCheckStockRequest';
import type { BulkCheckStockResponse as _flashsale_v1_BulkCheckStockResponse, BulkCheckStockResponse__Output as _flashsale_v1_BulkCheckStockResponse__Output } from '../../flashsale/v1/BulkCheckStockResponse';
import type { CheckStockRequest as _flashsale_v1_CheckStockRequest, CheckStockRequest__Output as _flashsale_v1_CheckStockRequest__Output } from '../../flashsale/v1/CheckStockRequest';
import type { CheckStockResponse as _flashsale_v1_CheckStockResponse, CheckStockResponse__Output as _flashsale_v1_CheckStockResponse__Output } from '../../flashsale/v1/CheckStockResponse';
import type { CommitReservationRequest as _flashsale_v1_CommitReservationRequest, CommitReservationRequest__Output as _flashsale_v1_CommitReservationRequest__Output } from '../../flashsale/v1/CommitReservationRequest';
import type { CommitReservationResponse as _flashsale_v1_CommitReservationResponse, CommitReservationResponse__Output as _flashsale_v1_CommitReservationResponse__Output } from '../../flashsale/v1/CommitReservationResponse';
import type { ExtendReservationRequest as _flashsale_v1_ExtendReservationRequest, ExtendReservationRequest__Output as _flashsale_v1_ExtendReservationRequest__Output } from '../../flashsale/v1/ExtendReservationRequest';
import type { ExtendReservationResponse as _flashsale_v1_ExtendReservationResponse, ExtendReservationResponse__Output as _flashsale_v1_ExtendReservationResponse__Output } from '../../flashsale/v1/ExtendReservationResponse';
import type { GetReservationRequest as _flashsale_v1_GetReservationRequest, GetReservationRequest__Output as _flashsale_v1_GetReservationRequest__Output } from '../../flashsale/v1/GetReservationRequest';
import type { GetReservationResponse as _flashsale_v1_GetReservationResponse, GetReservationResponse__Output as _flashsale_v1_GetReservationResponse__Output } from '../../flashsale/v1/GetReservationResponse';
import type { GetStockRequest as _flashsale_v1_GetStockRequest, GetStockRequest__Output as _flashsale_v1_GetStockRequest__Output } from '../../flashsale/v1/GetStockRequest';
import type { GetStockResponse as _flashsale_v1_GetStockResponse, GetStockResponse__Output as _flashsale_v1_GetStockResponse__Output } from '../../flashsale/v1/GetStockResponse';
import type { GetTicketRequest as _flashsale_v1_GetTicketRequest, GetTicketRequest__Output as _flashsale_v1_GetTicketRequest__Output } from '../../flashsale/v1/GetTicketRequest';
import type { GetTicketResponse as _flashsale_v1_GetTicketResponse, GetTicketResponse__Output as _flashsale_v1_GetTicketResponse__Output } from '../../flashsale/v1/GetTicketResponse';
import type { JoinLineRequest as _flashsale_v1_JoinLineRequest, JoinLineRequest__Output as _flashsale_v1_JoinLineRequest__Output } from '../../flashsale/v1/JoinLineRequest';
import type { JoinLineResponse as _flashsale_v1_JoinLineResponse, JoinLineResponse__Output as _flashsale_v1_JoinLineResponse__Output } from '../../flashsale/v1/JoinLineResponse';
import type { LeaveLineRequest as _flashsale_v1_LeaveLineRequest, LeaveLineRequest__Output as _flashsale_v1_LeaveLineRequest__Output } from '../../flashsale/v1/LeaveLineRequest';
import type { LeaveLineResponse as _flashsale_v1_LeaveLineResponse, LeaveLineResponse__Output as _flashsale_v1_LeaveLineResponse__Output } from '../../flashsale/v1/LeaveLineResponse';
import type { ReleaseReservationRequest as _flashsale_v1_ReleaseReservationRequest, ReleaseReservationRequest__Output as _flashsale_v1_ReleaseReservationRequest__Output } from '../../flashsale/v1/ReleaseReservationRequest';
import type { ReleaseReservationResponse as _flashsale_v1_ReleaseReservationResponse, ReleaseReservationResponse__Output as _flashsale_v1_ReleaseReservationResponse__Output } from '../../flashsale/v1/ReleaseReservationResponse';
import type { ReserveStockRequest as _flashsale_v1_ReserveStockRequest, ReserveStockRequest__Output as _flashsale_v1_ReserveStockRequest__Output } from '../../flashsale/v1/ReserveStockRequest';
import type { ReserveStockResponse as _flashsale_v1_ReserveStockResponse, ReserveStockResponse__Output as _flashsale_v1_ReserveStockResponse__Output } from '../../flashsale/v1/ReserveStockResponse';
import type { UpdateStockRequest as _flashsale_v1_UpdateStockRequest, UpdateStockRequest__Output as _flashsale_v1_UpdateStockRequest__Output } from '../../flashsale/v1/UpdateStockRequest';
import type { UpdateStockResponse as _flashsale_v1_UpdateStockResponse, UpdateStockResponse__Output as _flashsale_v1_UpdateStockResponse__Output } from '../../flashsale/v1/UpdateStockResponse';

/**
 * Stock and reservations of a flash sale. Client calls take the client token (API_TOKEN, when
 * set) and admin calls the admin token (ADMIN_TOKEN), each in the `authorization` metadata as
 * `Bearer <token>`.
 */
export interface InventoryClient extends grpc.Client {
  /**
   * Could these lines be held now? Holds nothing (HTTP: POST /v1/availability).
   */
  BulkCheckStock(argument: _flashsale_v1_BulkCheckStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_BulkCheckStockResponse__Output>): grpc.ClientUnaryCall;
  BulkCheckStock(argument: _flashsale_v1_BulkCheckStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_BulkCheckStockResponse__Output>): grpc.ClientUnaryCall;
  BulkCheckStock(argument: _flashsale_v1_BulkCheckStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_BulkCheckStockResponse__Output>): grpc.ClientUnaryCall;
  BulkCheckStock(argument: _flashsale_v1_BulkCheckStockRequest, callback: grpc.requestCallback<_flashsale_v1_BulkCheckStockResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Could these lines be held now? Holds nothing (HTTP: POST /v1/availability).
   */
  bulkCheckStock(argument: _flashsale_v1_BulkCheckStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_BulkCheckStockResponse__Output>): grpc.ClientUnaryCall;
  bulkCheckStock(argument: _flashsale_v1_BulkCheckStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_BulkCheckStockResponse__Output>): grpc.ClientUnaryCall;
  bulkCheckStock(argument: _flashsale_v1_BulkCheckStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_BulkCheckStockResponse__Output>): grpc.ClientUnaryCall;
  bulkCheckStock(argument: _flashsale_v1_BulkCheckStockRequest, callback: grpc.requestCallback<_flashsale_v1_BulkCheckStockResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Could one line be held now? Holds nothing; an unknown SKU reads available 0.
   */
  CheckStock(argument: _flashsale_v1_CheckStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_CheckStockResponse__Output>): grpc.ClientUnaryCall;
  CheckStock(argument: _flashsale_v1_CheckStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_CheckStockResponse__Output>): grpc.ClientUnaryCall;
  CheckStock(argument: _flashsale_v1_CheckStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_CheckStockResponse__Output>): grpc.ClientUnaryCall;
  CheckStock(argument: _flashsale_v1_CheckStockRequest, callback: grpc.requestCallback<_flashsale_v1_CheckStockResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Could one line be held now? Holds nothing; an unknown SKU reads available 0.
   */
  checkStock(argument: _flashsale_v1_CheckStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_CheckStockResponse__Output>): grpc.ClientUnaryCall;
  checkStock(argument: _flashsale_v1_CheckStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_CheckStockResponse__Output>): grpc.ClientUnaryCall;
  checkStock(argument: _flashsale_v1_CheckStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_CheckStockResponse__Output>): grpc.ClientUnaryCall;
  checkStock(argument: _flashsale_v1_CheckStockRequest, callback: grpc.requestCallback<_flashsale_v1_CheckStockResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The payment went through: held units become sold; a repeat changes nothing.
   */
  CommitReservation(argument: _flashsale_v1_CommitReservationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_CommitReservationResponse__Output>): grpc.ClientUnaryCall;
  CommitReservation(argument: _flashsale_v1_CommitReservationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_CommitReservationResponse__Output>): grpc.ClientUnaryCall;
  CommitReservation(argument: _flashsale_v1_CommitReservationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_CommitReservationResponse__Output>): grpc.ClientUnaryCall;
  CommitReservation(argument: _flashsale_v1_CommitReservationRequest, callback: grpc.requestCallback<_flashsale_v1_CommitReservationResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The payment went through: held units become sold; a repeat changes nothing.
   */
  commitReservation(argument: _flashsale_v1_CommitReservationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_CommitReservationResponse__Output>): grpc.ClientUnaryCall;
  commitReservation(argument: _flashsale_v1_CommitReservationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_CommitReservationResponse__Output>): grpc.ClientUnaryCall;
  commitReservation(argument: _flashsale_v1_CommitReservationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_CommitReservationResponse__Output>): grpc.ClientUnaryCall;
  commitReservation(argument: _flashsale_v1_CommitReservationRequest, callback: grpc.requestCallback<_flashsale_v1_CommitReservationResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Move expires_at to now + ttl_seconds, at most one hour after created_at.
   */
  ExtendReservation(argument: _flashsale_v1_ExtendReservationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ExtendReservationResponse__Output>): grpc.ClientUnaryCall;
  ExtendReservation(argument: _flashsale_v1_ExtendReservationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_ExtendReservationResponse__Output>): grpc.ClientUnaryCall;
  ExtendReservation(argument: _flashsale_v1_ExtendReservationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ExtendReservationResponse__Output>): grpc.ClientUnaryCall;
  ExtendReservation(argument: _flashsale_v1_ExtendReservationRequest, callback: grpc.requestCallback<_flashsale_v1_ExtendReservationResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Move expires_at to now + ttl_seconds, at most one hour after created_at.
   */
  extendReservation(argument: _flashsale_v1_ExtendReservationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ExtendReservationResponse__Output>): grpc.ClientUnaryCall;
  extendReservation(argument: _flashsale_v1_ExtendReservationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_ExtendReservationResponse__Output>): grpc.ClientUnaryCall;
  extendReservation(argument: _flashsale_v1_ExtendReservationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ExtendReservationResponse__Output>): grpc.ClientUnaryCall;
  extendReservation(argument: _flashsale_v1_ExtendReservationRequest, callback: grpc.requestCallback<_flashsale_v1_ExtendReservationResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * A reservation as it stands now (HTTP: GET /v1/reservations/{id}): from Redis while it is
   * there, else from Postgres; a pending one past expires_at reads EXPIRED. Changes nothing.
   */
  GetReservation(argument: _flashsale_v1_GetReservationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetReservationResponse__Output>): grpc.ClientUnaryCall;
  GetReservation(argument: _flashsale_v1_GetReservationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_GetReservationResponse__Output>): grpc.ClientUnaryCall;
  GetReservation(argument: _flashsale_v1_GetReservationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetReservationResponse__Output>): grpc.ClientUnaryCall;
  GetReservation(argument: _flashsale_v1_GetReservationRequest, callback: grpc.requestCallback<_flashsale_v1_GetReservationResponse__Output>): grpc.ClientUnaryCall;
  /**
   * A reservation as it stands now (HTTP: GET /v1/reservations/{id}): from Redis while it is
   * there, else from Postgres; a pending one past expires_at reads EXPIRED. Changes nothing.
   */
  getReservation(argument: _flashsale_v1_GetReservationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetReservationResponse__Output>): grpc.ClientUnaryCall;
  getReservation(argument: _flashsale_v1_GetReservationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_GetReservationResponse__Output>): grpc.ClientUnaryCall;
  getReservation(argument: _flashsale_v1_GetReservationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetReservationResponse__Output>): grpc.ClientUnaryCall;
  getReservation(argument: _flashsale_v1_GetReservationRequest, callback: grpc.requestCallback<_flashsale_v1_GetReservationResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The SKU view: available + reserved + sold == total (HTTP: GET /v1/skus/{sku}).
   */
  GetStock(argument: _flashsale_v1_GetStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetStockResponse__Output>): grpc.ClientUnaryCall;
  GetStock(argument: _flashsale_v1_GetStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_GetStockResponse__Output>): grpc.ClientUnaryCall;
  GetStock(argument: _flashsale_v1_GetStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetStockResponse__Output>): grpc.ClientUnaryCall;
  GetStock(argument: _flashsale_v1_GetStockRequest, callback: grpc.requestCallback<_flashsale_v1_GetStockResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The SKU view: available + reserved + sold == total (HTTP: GET /v1/skus/{sku}).
   */
  getStock(argument: _flashsale_v1_GetStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetStockResponse__Output>): grpc.ClientUnaryCall;
  getStock(argument: _flashsale_v1_GetStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_GetStockResponse__Output>): grpc.ClientUnaryCall;
  getStock(argument: _flashsale_v1_GetStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetStockResponse__Output>): grpc.ClientUnaryCall;
  getStock(argument: _flashsale_v1_GetStockRequest, callback: grpc.requestCallback<_flashsale_v1_GetStockResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * A ticket as it stands now (HTTP: GET /v1/line-tickets/{id}); unknown: TICKET_NOT_FOUND.
   */
  GetTicket(argument: _flashsale_v1_GetTicketRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetTicketResponse__Output>): grpc.ClientUnaryCall;
  GetTicket(argument: _flashsale_v1_GetTicketRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_GetTicketResponse__Output>): grpc.ClientUnaryCall;
  GetTicket(argument: _flashsale_v1_GetTicketRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetTicketResponse__Output>): grpc.ClientUnaryCall;
  GetTicket(argument: _flashsale_v1_GetTicketRequest, callback: grpc.requestCallback<_flashsale_v1_GetTicketResponse__Output>): grpc.ClientUnaryCall;
  /**
   * A ticket as it stands now (HTTP: GET /v1/line-tickets/{id}); unknown: TICKET_NOT_FOUND.
   */
  getTicket(argument: _flashsale_v1_GetTicketRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetTicketResponse__Output>): grpc.ClientUnaryCall;
  getTicket(argument: _flashsale_v1_GetTicketRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_GetTicketResponse__Output>): grpc.ClientUnaryCall;
  getTicket(argument: _flashsale_v1_GetTicketRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_GetTicketResponse__Output>): grpc.ClientUnaryCall;
  getTicket(argument: _flashsale_v1_GetTicketRequest, callback: grpc.requestCallback<_flashsale_v1_GetTicketResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Join the SKU's waiting line (HTTP: POST /v1/skus/{sku}/line): one ticket per user and SKU; a
   * user who joins again is answered the ticket they have (joined = false). Refusals as over HTTP:
   * LINE_NOT_FOUND, SALE_NOT_ACTIVE, SOLD_OUT, PURCHASE_LIMIT_EXCEEDED. Optional metadata
   * `idempotency-key`, checked as the HTTP header is.
   */
  JoinLine(argument: _flashsale_v1_JoinLineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_JoinLineResponse__Output>): grpc.ClientUnaryCall;
  JoinLine(argument: _flashsale_v1_JoinLineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_JoinLineResponse__Output>): grpc.ClientUnaryCall;
  JoinLine(argument: _flashsale_v1_JoinLineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_JoinLineResponse__Output>): grpc.ClientUnaryCall;
  JoinLine(argument: _flashsale_v1_JoinLineRequest, callback: grpc.requestCallback<_flashsale_v1_JoinLineResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Join the SKU's waiting line (HTTP: POST /v1/skus/{sku}/line): one ticket per user and SKU; a
   * user who joins again is answered the ticket they have (joined = false). Refusals as over HTTP:
   * LINE_NOT_FOUND, SALE_NOT_ACTIVE, SOLD_OUT, PURCHASE_LIMIT_EXCEEDED. Optional metadata
   * `idempotency-key`, checked as the HTTP header is.
   */
  joinLine(argument: _flashsale_v1_JoinLineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_JoinLineResponse__Output>): grpc.ClientUnaryCall;
  joinLine(argument: _flashsale_v1_JoinLineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_JoinLineResponse__Output>): grpc.ClientUnaryCall;
  joinLine(argument: _flashsale_v1_JoinLineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_JoinLineResponse__Output>): grpc.ClientUnaryCall;
  joinLine(argument: _flashsale_v1_JoinLineRequest, callback: grpc.requestCallback<_flashsale_v1_JoinLineResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Leave the line (HTTP: DELETE /v1/line-tickets/{id}): a waiting ticket ends LEFT; an admitted
   * one keeps its reservation, to be released as usual; an ended one is answered as it is.
   */
  LeaveLine(argument: _flashsale_v1_LeaveLineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_LeaveLineResponse__Output>): grpc.ClientUnaryCall;
  LeaveLine(argument: _flashsale_v1_LeaveLineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_LeaveLineResponse__Output>): grpc.ClientUnaryCall;
  LeaveLine(argument: _flashsale_v1_LeaveLineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_LeaveLineResponse__Output>): grpc.ClientUnaryCall;
  LeaveLine(argument: _flashsale_v1_LeaveLineRequest, callback: grpc.requestCallback<_flashsale_v1_LeaveLineResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Leave the line (HTTP: DELETE /v1/line-tickets/{id}): a waiting ticket ends LEFT; an admitted
   * one keeps its reservation, to be released as usual; an ended one is answered as it is.
   */
  leaveLine(argument: _flashsale_v1_LeaveLineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_LeaveLineResponse__Output>): grpc.ClientUnaryCall;
  leaveLine(argument: _flashsale_v1_LeaveLineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_LeaveLineResponse__Output>): grpc.ClientUnaryCall;
  leaveLine(argument: _flashsale_v1_LeaveLineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_LeaveLineResponse__Output>): grpc.ClientUnaryCall;
  leaveLine(argument: _flashsale_v1_LeaveLineRequest, callback: grpc.requestCallback<_flashsale_v1_LeaveLineResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The shopper gave up: held units return to available; a repeat changes nothing.
   */
  ReleaseReservation(argument: _flashsale_v1_ReleaseReservationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ReleaseReservationResponse__Output>): grpc.ClientUnaryCall;
  ReleaseReservation(argument: _flashsale_v1_ReleaseReservationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_ReleaseReservationResponse__Output>): grpc.ClientUnaryCall;
  ReleaseReservation(argument: _flashsale_v1_ReleaseReservationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ReleaseReservationResponse__Output>): grpc.ClientUnaryCall;
  ReleaseReservation(argument: _flashsale_v1_ReleaseReservationRequest, callback: grpc.requestCallback<_flashsale_v1_ReleaseReservationResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The shopper gave up: held units return to available; a repeat changes nothing.
   */
  releaseReservation(argument: _flashsale_v1_ReleaseReservationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ReleaseReservationResponse__Output>): grpc.ClientUnaryCall;
  releaseReservation(argument: _flashsale_v1_ReleaseReservationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_ReleaseReservationResponse__Output>): grpc.ClientUnaryCall;
  releaseReservation(argument: _flashsale_v1_ReleaseReservationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ReleaseReservationResponse__Output>): grpc.ClientUnaryCall;
  releaseReservation(argument: _flashsale_v1_ReleaseReservationRequest, callback: grpc.requestCallback<_flashsale_v1_ReleaseReservationResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Hold stock for a shopper, all or nothing unless allow_partial (HTTP: POST /v1/reservations).
   * Optional metadata `idempotency-key` (1..255 printable ASCII characters), scoped to user_id:
   * a key that already produced a reservation answers that reservation with replayed = true.
   */
  ReserveStock(argument: _flashsale_v1_ReserveStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ReserveStockResponse__Output>): grpc.ClientUnaryCall;
  ReserveStock(argument: _flashsale_v1_ReserveStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_ReserveStockResponse__Output>): grpc.ClientUnaryCall;
  ReserveStock(argument: _flashsale_v1_ReserveStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ReserveStockResponse__Output>): grpc.ClientUnaryCall;
  ReserveStock(argument: _flashsale_v1_ReserveStockRequest, callback: grpc.requestCallback<_flashsale_v1_ReserveStockResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Hold stock for a shopper, all or nothing unless allow_partial (HTTP: POST /v1/reservations).
   * Optional metadata `idempotency-key` (1..255 printable ASCII characters), scoped to user_id:
   * a key that already produced a reservation answers that reservation with replayed = true.
   */
  reserveStock(argument: _flashsale_v1_ReserveStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ReserveStockResponse__Output>): grpc.ClientUnaryCall;
  reserveStock(argument: _flashsale_v1_ReserveStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_ReserveStockResponse__Output>): grpc.ClientUnaryCall;
  reserveStock(argument: _flashsale_v1_ReserveStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_ReserveStockResponse__Output>): grpc.ClientUnaryCall;
  reserveStock(argument: _flashsale_v1_ReserveStockRequest, callback: grpc.requestCallback<_flashsale_v1_ReserveStockResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Admin: create or update a SKU with a total or with locations (HTTP: PUT /v1/admin/skus/{sku}).
   * Replaces the settings, its line included: a request without `line` removes the SKU's line.
   */
  UpdateStock(argument: _flashsale_v1_UpdateStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_UpdateStockResponse__Output>): grpc.ClientUnaryCall;
  UpdateStock(argument: _flashsale_v1_UpdateStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_UpdateStockResponse__Output>): grpc.ClientUnaryCall;
  UpdateStock(argument: _flashsale_v1_UpdateStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_UpdateStockResponse__Output>): grpc.ClientUnaryCall;
  UpdateStock(argument: _flashsale_v1_UpdateStockRequest, callback: grpc.requestCallback<_flashsale_v1_UpdateStockResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Admin: create or update a SKU with a total or with locations (HTTP: PUT /v1/admin/skus/{sku}).
   * Replaces the settings, its line included: a request without `line` removes the SKU's line.
   */
  updateStock(argument: _flashsale_v1_UpdateStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_UpdateStockResponse__Output>): grpc.ClientUnaryCall;
  updateStock(argument: _flashsale_v1_UpdateStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_flashsale_v1_UpdateStockResponse__Output>): grpc.ClientUnaryCall;
  updateStock(argument: _flashsale_v1_UpdateStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_flashsale_v1_UpdateStockResponse__Output>): grpc.ClientUnaryCall;
  updateStock(argument: _flashsale_v1_UpdateStockRequest, callback: grpc.requestCallback<_flashsale_v1_UpdateStockResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * Stock and reservations of a flash sale. Client calls take the client token (API_TOKEN, when
 * set) and admin calls the admin token (ADMIN_TOKEN), each in the `authorization` metadata as
 * `Bearer <token>`.
 */
export interface InventoryHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Could these lines be held now? Holds nothing (HTTP: POST /v1/availability).
   */
  BulkCheckStock: grpc.handleUnaryCall<_flashsale_v1_BulkCheckStockRequest__Output, _flashsale_v1_BulkCheckStockResponse>;
  
  /**
   * Could one line be held now? Holds nothing; an unknown SKU reads available 0.
   */
  CheckStock: grpc.handleUnaryCall<_flashsale_v1_CheckStockRequest__Output, _flashsale_v1_CheckStockResponse>;
  
  /**
   * The payment went through: held units become sold; a repeat changes nothing.
   */
  CommitReservation: grpc.handleUnaryCall<_flashsale_v1_CommitReservationRequest__Output, _flashsale_v1_CommitReservationResponse>;
  
  /**
   * Move expires_at to now + ttl_seconds, at most one hour after created_at.
   */
  ExtendReservation: grpc.handleUnaryCall<_flashsale_v1_ExtendReservationRequest__Output, _flashsale_v1_ExtendReservationResponse>;
  
  /**
   * A reservation as it stands now (HTTP: GET /v1/reservations/{id}): from Redis while it is
   * there, else from Postgres; a pending one past expires_at reads EXPIRED. Changes nothing.
   */
  GetReservation: grpc.handleUnaryCall<_flashsale_v1_GetReservationRequest__Output, _flashsale_v1_GetReservationResponse>;
  
  /**
   * The SKU view: available + reserved + sold == total (HTTP: GET /v1/skus/{sku}).
   */
  GetStock: grpc.handleUnaryCall<_flashsale_v1_GetStockRequest__Output, _flashsale_v1_GetStockResponse>;
  
  /**
   * A ticket as it stands now (HTTP: GET /v1/line-tickets/{id}); unknown: TICKET_NOT_FOUND.
   */
  GetTicket: grpc.handleUnaryCall<_flashsale_v1_GetTicketRequest__Output, _flashsale_v1_GetTicketResponse>;
  
  /**
   * Join the SKU's waiting line (HTTP: POST /v1/skus/{sku}/line): one ticket per user and SKU; a
   * user who joins again is answered the ticket they have (joined = false). Refusals as over HTTP:
   * LINE_NOT_FOUND, SALE_NOT_ACTIVE, SOLD_OUT, PURCHASE_LIMIT_EXCEEDED. Optional metadata
   * `idempotency-key`, checked as the HTTP header is.
   */
  JoinLine: grpc.handleUnaryCall<_flashsale_v1_JoinLineRequest__Output, _flashsale_v1_JoinLineResponse>;
  
  /**
   * Leave the line (HTTP: DELETE /v1/line-tickets/{id}): a waiting ticket ends LEFT; an admitted
   * one keeps its reservation, to be released as usual; an ended one is answered as it is.
   */
  LeaveLine: grpc.handleUnaryCall<_flashsale_v1_LeaveLineRequest__Output, _flashsale_v1_LeaveLineResponse>;
  
  /**
   * The shopper gave up: held units return to available; a repeat changes nothing.
   */
  ReleaseReservation: grpc.handleUnaryCall<_flashsale_v1_ReleaseReservationRequest__Output, _flashsale_v1_ReleaseReservationResponse>;
  
  /**
   * Hold stock for a shopper, all or nothing unless allow_partial (HTTP: POST /v1/reservations).
   * Optional metadata `idempotency-key` (1..255 printable ASCII characters), scoped to user_id:
   * a key that already produced a reservation answers that reservation with replayed = true.
   */
  ReserveStock: grpc.handleUnaryCall<_flashsale_v1_ReserveStockRequest__Output, _flashsale_v1_ReserveStockResponse>;
  
  /**
   * Admin: create or update a SKU with a total or with locations (HTTP: PUT /v1/admin/skus/{sku}).
   * Replaces the settings, its line included: a request without `line` removes the SKU's line.
   */
  UpdateStock: grpc.handleUnaryCall<_flashsale_v1_UpdateStockRequest__Output, _flashsale_v1_UpdateStockResponse>;
  
}

export interface InventoryDefinition extends grpc.ServiceDefinition {
  BulkCheckStock: MethodDefinition<_flashsale_v1_BulkCheckStockRequest, _flashsale_v1_BulkCheckStockResponse, _flashsale_v1_BulkCheckStockRequest__Output, _flashsale_v1_BulkCheckStockResponse__Output>
  CheckStock: MethodDefinition<_flashsale_v1_CheckStockRequest, _flashsale_v1_CheckStockResponse, _flashsale_v1_CheckStockRequest__Output, _flashsale_v1_CheckStockResponse__Output>
  CommitReservation: MethodDefinition<_flashsale_v1_CommitReservationRequest, _flashsale_v1_CommitReservationResponse, _flashsale_v1_CommitReservationRequest__Output, _flashsale_v1_CommitReservationResponse__Output>
  ExtendReservation: MethodDefinition<_flashsale_v1_ExtendReservationRequest, _flashsale_v1_ExtendReservationResponse, _flashsale_v1_ExtendReservationRequest__Output, _flashsale_v1_ExtendReservationResponse__Output>
  GetReservation: MethodDefinition<_flashsale_v1_GetReservationRequest, _flashsale_v1_GetReservationResponse, _flashsale_v1_GetReservationRequest__Output, _flashsale_v1_GetReservationResponse__Output>
  GetStock: MethodDefinition<_flashsale_v1_GetStockRequest, _flashsale_v1_GetStockResponse, _flashsale_v1_GetStockRequest__Output, _flashsale_v1_GetStockResponse__Output>
  GetTicket: MethodDefinition<_flashsale_v1_GetTicketRequest, _flashsale_v1_GetTicketResponse, _flashsale_v1_GetTicketRequest__Output, _flashsale_v1_GetTicketResponse__Output>
  JoinLine: MethodDefinition<_flashsale_v1_JoinLineRequest, _flashsale_v1_JoinLineResponse, _flashsale_v1_JoinLineRequest__Output, _flashsale_v1_JoinLineResponse__Output>
  LeaveLine: MethodDefinition<_flashsale_v1_LeaveLineRequest, _flashsale_v1_LeaveLineResponse, _flashsale_v1_LeaveLineRequest__Output, _flashsale_v1_LeaveLineResponse__Output>
  ReleaseReservation: MethodDefinition<_flashsale_v1_ReleaseReservationRequest, _flashsale_v1_ReleaseReservationResponse, _flashsale_v1_ReleaseReservationRequest__Output, _flashsale_v1_ReleaseReservationResponse__Output>
  ReserveStock: MethodDefinition<_flashsale_v1_ReserveStockRequest, _flashsale_v1_ReserveStockResponse, _flashsale_v1_ReserveStockRequest__Output, _flashsale_v1_ReserveStockResponse__Output>
  UpdateStock: MethodDefinition<_flashsale_v1_UpdateStockRequest, _flashsale_v1_UpdateStockResponse, _flashsale_v1_UpdateStockRequest__Output, _flashsale_v1_UpdateStockResponse__Output>
}

import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Allocation as _flashsale_v1_Allocation, Allocation__Output as _flashsale_v1_Allocation__Output } from './flashsale/v1/Allocation';
import type { BulkCheckStockRequest as _flashsale_v1_BulkCheckStockRequest, BulkCheckStockRequest__Output as _flashsale_v1_BulkCheckStockRequest__Output } from './flashsale/v1/BulkCheckStockRequest';
import type { BulkCheckStockResponse as _flashsale_v1_BulkCheckStockResponse, BulkCheckStockResponse__Output as _flashsale_v1_BulkCheckStockResponse__Output } from './flashsale/v1/BulkCheckStockResponse';
import type { CheckStockRequest as _flashsale_v1_CheckStockRequest, CheckStockRequest__Output as _flashsale_v1_CheckStockRequest__Output } from './flashsale/v1/CheckStockRequest';
import type { CheckStockResponse as _flashsale_v1_CheckStockResponse, CheckStockResponse__Output as _flashsale_v1_CheckStockResponse__Output } from './flashsale/v1/CheckStockResponse';
import type { CommitReservationRequest as _flashsale_v1_CommitReservationRequest, CommitReservationRequest__Output as _flashsale_v1_CommitReservationRequest__Output } from './flashsale/v1/CommitReservationRequest';
import type { CommitReservationResponse as _flashsale_v1_CommitReservationResponse, CommitReservationResponse__Output as _flashsale_v1_CommitReservationResponse__Output } from './flashsale/v1/CommitReservationResponse';
import type { ExtendReservationRequest as _flashsale_v1_ExtendReservationRequest, ExtendReservationRequest__Output as _flashsale_v1_ExtendReservationRequest__Output } from './flashsale/v1/ExtendReservationRequest';
import type { ExtendReservationResponse as _flashsale_v1_ExtendReservationResponse, ExtendReservationResponse__Output as _flashsale_v1_ExtendReservationResponse__Output } from './flashsale/v1/ExtendReservationResponse';
import type { GetReservationRequest as _flashsale_v1_GetReservationRequest, GetReservationRequest__Output as _flashsale_v1_GetReservationRequest__Output } from './flashsale/v1/GetReservationRequest';
import type { GetReservationResponse as _flashsale_v1_GetReservationResponse, GetReservationResponse__Output as _flashsale_v1_GetReservationResponse__Output } from './flashsale/v1/GetReservationResponse';
import type { GetStockRequest as _flashsale_v1_GetStockRequest, GetStockRequest__Output as _flashsale_v1_GetStockRequest__Output } from './flashsale/v1/GetStockRequest';
import type { GetStockResponse as _flashsale_v1_GetStockResponse, GetStockResponse__Output as _flashsale_v1_GetStockResponse__Output } from './flashsale/v1/GetStockResponse';
import type { GetTicketRequest as _flashsale_v1_GetTicketRequest, GetTicketRequest__Output as _flashsale_v1_GetTicketRequest__Output } from './flashsale/v1/GetTicketRequest';
import type { GetTicketResponse as _flashsale_v1_GetTicketResponse, GetTicketResponse__Output as _flashsale_v1_GetTicketResponse__Output } from './flashsale/v1/GetTicketResponse';
import type { InventoryClient as _flashsale_v1_InventoryClient, InventoryDefinition as _flashsale_v1_InventoryDefinition } from './flashsale/v1/Inventory';
import type { JoinLineRequest as _flashsale_v1_JoinLineRequest, JoinLineRequest__Output as _flashsale_v1_JoinLineRequest__Output } from './flashsale/v1/JoinLineRequest';
import type { JoinLineResponse as _flashsale_v1_JoinLineResponse, JoinLineResponse__Output as _flashsale_v1_JoinLineResponse__Output } from './flashsale/v1/JoinLineResponse';
import type { LeaveLineRequest as _flashsale_v1_LeaveLineRequest, LeaveLineRequest__Output as _flashsale_v1_LeaveLineRequest__Output } from './flashsale/v1/LeaveLineRequest';
import type { LeaveLineResponse as _flashsale_v1_LeaveLineResponse, LeaveLineResponse__Output as _flashsale_v1_LeaveLineResponse__Output } from './flashsale/v1/LeaveLineResponse';
import type { LineAvailability as _flashsale_v1_LineAvailability, LineAvailability__Output as _flashsale_v1_LineAvailability__Output } from './flashsale/v1/LineAvailability';
import type { LineSettings as _flashsale_v1_LineSettings, LineSettings__Output as _flashsale_v1_LineSettings__Output } from './flashsale/v1/LineSettings';
import type { LineView as _flashsale_v1_LineView, LineView__Output as _flashsale_v1_LineView__Output } from './flashsale/v1/LineView';
import type { LocationStock as _flashsale_v1_LocationStock, LocationStock__Output as _flashsale_v1_LocationStock__Output } from './flashsale/v1/LocationStock';
import type { LocationTotal as _flashsale_v1_LocationTotal, LocationTotal__Output as _flashsale_v1_LocationTotal__Output } from './flashsale/v1/LocationTotal';
import type { ReleaseReservationRequest as _flashsale_v1_ReleaseReservationRequest, ReleaseReservationRequest__Output as _flashsale_v1_ReleaseReservationRequest__Output } from './flashsale/v1/ReleaseReservationRequest';
import type { ReleaseReservationResponse as _flashsale_v1_ReleaseReservationResponse, ReleaseReservationResponse__Output as _flashsale_v1_ReleaseReservationResponse__Output } from './flashsale/v1/ReleaseReservationResponse';
import type { Reservation as _flashsale_v1_Reservation, Reservation__Output as _flashsale_v1_Reservation__Output } from './flashsale/v1/Reservation';
import type { ReservationLine as _flashsale_v1_ReservationLine, ReservationLine__Output as _flashsale_v1_ReservationLine__Output } from './flashsale/v1/ReservationLine';
import type { ReserveStockRequest as _flashsale_v1_ReserveStockRequest, ReserveStockRequest__Output as _flashsale_v1_ReserveStockRequest__Output } from './flashsale/v1/ReserveStockRequest';
import type { ReserveStockResponse as _flashsale_v1_ReserveStockResponse, ReserveStockResponse__Output as _flashsale_v1_ReserveStockResponse__Output } from './flashsale/v1/ReserveStockResponse';
import type { StockLine as _flashsale_v1_StockLine, StockLine__Output as _flashsale_v1_StockLine__Output } from './flashsale/v1/StockLine';
import type { StockView as _flashsale_v1_StockView, StockView__Output as _flashsale_v1_StockView__Output } from './flashsale/v1/StockView';
import type { Ticket as _flashsale_v1_Ticket, Ticket__Output as _flashsale_v1_Ticket__Output } from './flashsale/v1/Ticket';
import type { UpdateStockRequest as _flashsale_v1_UpdateStockRequest, UpdateStockRequest__Output as _flashsale_v1_UpdateStockRequest__Output } from './flashsale/v1/UpdateStockRequest';
import type { UpdateStockResponse as _flashsale_v1_UpdateStockResponse, UpdateStockResponse__Output as _flashsale_v1_UpdateStockResponse__Output } from './flashsale/v1/UpdateStockResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  flashsale: {
    v1: {
      Allocation: MessageTypeDefinition<_flashsale_v1_Allocation, _flashsale_v1_Allocation__Output>
      BulkCheckStockRequest: MessageTypeDefinition<_flashsale_v1_BulkCheckStockRequest, _flashsale_v1_BulkCheckStockRequest__Output>
      BulkCheckStockResponse: MessageTypeDefinition<_flashsale_v1_BulkCheckStockResponse, _flashsale_v1_BulkCheckStockResponse__Output>
      CheckStockRequest: MessageTypeDefinition<_flashsale_v1_CheckStockRequest, _flashsale_v1_CheckStockRequest__Output>
      CheckStockResponse: MessageTypeDefinition<_flashsale_v1_CheckStockResponse, _flashsale_v1_CheckStockResponse__Output>
      CommitReservationRequest: MessageTypeDefinition<_flashsale_v1_CommitReservationRequest, _flashsale_v1_CommitReservationRequest__Output>
      CommitReservationResponse: MessageTypeDefinition<_flashsale_v1_CommitReservationResponse, _flashsale_v1_CommitReservationResponse__Output>
      ExtendReservationRequest: MessageTypeDefinition<_flashsale_v1_ExtendReservationRequest, _flashsale_v1_ExtendReservationRequest__Output>
      ExtendReservationResponse: MessageTypeDefinition<_flashsale_v1_ExtendReservationResponse, _flashsale_v1_ExtendReservationResponse__Output>
      GetReservationRequest: MessageTypeDefinition<_flashsale_v1_GetReservationRequest, _flashsale_v1_GetReservationRequest__Output>
      GetReservationResponse: MessageTypeDefinition<_flashsale_v1_GetReservationResponse, _flashsale_v1_GetReservationResponse__Output>
      GetStockRequest: MessageTypeDefinition<_flashsale_v1_GetStockRequest, _flashsale_v1_GetStockRequest__Output>
      GetStockResponse: MessageTypeDefinition<_flashsale_v1_GetStockResponse, _flashsale_v1_GetStockResponse__Output>
      GetTicketRequest: MessageTypeDefinition<_flashsale_v1_GetTicketRequest, _flashsale_v1_GetTicketRequest__Output>
      GetTicketResponse: MessageTypeDefinition<_flashsale_v1_GetTicketResponse, _flashsale_v1_GetTicketResponse__Output>
      /**
       * Stock and reservations of a flash sale. Client calls take the client token (API_TOKEN, when
       * set) and admin calls the admin token (ADMIN_TOKEN), each in the `authorization` metadata as
       * `Bearer <token>`.
       */
      Inventory: SubtypeConstructor<typeof grpc.Client, _flashsale_v1_InventoryClient> & { service: _flashsale_v1_InventoryDefinition }
      JoinLineRequest: MessageTypeDefinition<_flashsale_v1_JoinLineRequest, _flashsale_v1_JoinLineRequest__Output>
      JoinLineResponse: MessageTypeDefinition<_flashsale_v1_JoinLineResponse, _flashsale_v1_JoinLineResponse__Output>
      LeaveLineRequest: MessageTypeDefinition<_flashsale_v1_LeaveLineRequest, _flashsale_v1_LeaveLineRequest__Output>
      LeaveLineResponse: MessageTypeDefinition<_flashsale_v1_LeaveLineResponse, _flashsale_v1_LeaveLineResponse__Output>
      LineAvailability: MessageTypeDefinition<_flashsale_v1_LineAvailability, _flashsale_v1_LineAvailability__Output>
      LineSettings: MessageTypeDefinition<_flashsale_v1_LineSettings, _flashsale_v1_LineSettings__Output>
      LineView: MessageTypeDefinition<_flashsale_v1_LineView, _flashsale_v1_LineView__Output>
      LocationStock: MessageTypeDefinition<_flashsale_v1_LocationStock, _flashsale_v1_LocationStock__Output>
      LocationTotal: MessageTypeDefinition<_flashsale_v1_LocationTotal, _flashsale_v1_LocationTotal__Output>
      ReleaseReservationRequest: MessageTypeDefinition<_flashsale_v1_ReleaseReservationRequest, _flashsale_v1_ReleaseReservationRequest__Output>
      ReleaseReservationResponse: MessageTypeDefinition<_flashsale_v1_ReleaseReservationResponse, _flashsale_v1_ReleaseReservationResponse__Output>
      Reservation: MessageTypeDefinition<_flashsale_v1_Reservation, _flashsale_v1_Reservation__Output>
      ReservationLine: MessageTypeDefinition<_flashsale_v1_ReservationLine, _flashsale_v1_ReservationLine__Output>
      ReserveStockRequest: MessageTypeDefinition<_flashsale_v1_ReserveStockRequest, _flashsale_v1_ReserveStockRequest__Output>
      ReserveStockResponse: MessageTypeDefinition<_flashsale_v1_ReserveStockResponse, _flashsale_v1_ReserveStockResponse__Output>
      StockLine: MessageTypeDefinition<_flashsale_v1_StockLine, _flashsale_v1_StockLine__Output>
      StockView: MessageTypeDefinition<_flashsale_v1_StockView, _flashsale_v1_StockView__Output>
      Ticket: MessageTypeDefinition<_flashsale_v1_Ticket, _flashsale_v1_Ticket__Output>
      UpdateStockRequest: MessageTypeDefinition<_flashsale_v1_UpdateStockRequest, _flashsale_v1_UpdateStockRequest__Output>
      UpdateStockResponse: MessageTypeDefinition<_flashsale_v1_UpdateStockResponse, _flashsale_v1_UpdateStockResponse__Output>
    }
  }
}


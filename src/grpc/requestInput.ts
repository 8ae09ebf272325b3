import type { Metadata } from '@grpc/grpc-js';
import type { FromSchema } from 'json-schema-to-ts';
import { availabilityBody, extendBody, idempotencyHeaders, joinLineBody, putSkuBody, reservationParams, reserveBody, skuParams, ticketParams } from '../http/schemas';
import { SINGLE_VALUE_HEADERS, type Validator, createSchemaCompilers, sentMoreThanOnce, validationFailed } from '../http/validation';
import type { BulkCheckStockRequest__Output } from './generated/flashsale/v1/BulkCheckStockRequest';
import type { CheckStockRequest__Output } from './generated/flashsale/v1/CheckStockRequest';
import type { ExtendReservationRequest__Output } from './generated/flashsale/v1/ExtendReservationRequest';
import type { JoinLineRequest__Output } from './generated/flashsale/v1/JoinLineRequest';
import type { ReserveStockRequest__Output } from './generated/flashsale/v1/ReserveStockRequest';
import type { StockLine__Output } from './generated/flashsale/v1/StockLine';
import type { UpdateStockRequest__Output } from './generated/flashsale/v1/UpdateStockRequest';

/**
 * A gRPC request, turned into the JSON the matching HTTP route takes and checked against that
 * route's own schema (src/http/schemas.ts) with the same validator settings: one set of rules for
 * both. A refusal is the same 400 VALIDATION_FAILED, which gRPC answers INVALID_ARGUMENT.
 */
const compile = createSchemaCompilers();

/** JSON has no undefined: a field left unset in the message is a field absent from the body. */
const withoutUnset = (value: object) => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined));

/** A schema's checker for one part of a request: gives the part back typed from its schema, or throws 400. */
function checker<Checked>(schema: object, context: string, compiler = compile.body) {
  const validate: Validator = compiler(schema);
  return (value: object): Checked => {
    const json = withoutUnset(value);
    if (validate(json)) return json as Checked;
    const issues = validate.errors ?? [];
    // As Fastify words a schema error: "body/items/0/qty must be >= 1".
    const message = issues.map((issue) => `${context}${issue.instancePath} ${issue.message}`).join(', ');
    throw validationFailed(context, issues, message);
  };
}

const checkReserveBody = checker<FromSchema<typeof reserveBody>>(reserveBody, 'body');
const checkAvailabilityBody = checker<FromSchema<typeof availabilityBody>>(availabilityBody, 'body');
const checkExtendBody = checker<FromSchema<typeof extendBody>>(extendBody, 'body');
const checkPutSkuBody = checker<FromSchema<typeof putSkuBody>>(putSkuBody, 'body');
const checkJoinLineBody = checker<FromSchema<typeof joinLineBody>>(joinLineBody, 'body');
const checkSkuParams = checker<FromSchema<typeof skuParams>>(skuParams, 'params', compile.part);
const checkTicketParams = checker<FromSchema<typeof ticketParams>>(ticketParams, 'params', compile.part);
const checkReservationParams = checker<FromSchema<typeof reservationParams>>(reservationParams, 'params', compile.part);
const checkIdempotencyHeaders = checker<FromSchema<typeof idempotencyHeaders>>(idempotencyHeaders, 'headers', compile.part);

const line = ({ sku, qty, location }: StockLine__Output) => ({ sku, qty, location });

/** The one value of a metadata key (undefined when absent); sent more than once, 400 (see repeatedMetadata.ts). */
export function singleMetadataValue(metadata: Metadata, key: (typeof SINGLE_VALUE_HEADERS)[number]): string | undefined {
  const values = metadata.get(key).map(String);
  if (values.length > 1) throw sentMoreThanOnce('metadata', key, values.length);
  return values[0];
}

export const checkedInput = {
  reserve(request: ReserveStockRequest__Output, metadata: Metadata) {
    const { userId, orderId, items, ttlSeconds, allowPartial } = request;
    const body = checkReserveBody({ userId, orderId, items: items.map(line), ttlSeconds, allowPartial });
    return { body, idempotencyKey: checkedInput.idempotencyKey(metadata) };
  },

  idempotencyKey(metadata: Metadata) {
    return checkIdempotencyHeaders({ 'idempotency-key': singleMetadataValue(metadata, 'idempotency-key') })['idempotency-key'];
  },

  /** A join, as POST /v1/skus/:sku/line takes it (its Idempotency-Key checked, as the route checks the header). */
  joinLine(request: JoinLineRequest__Output, metadata: Metadata) {
    const { sku, userId, qty, orderId } = request;
    const body = checkJoinLineBody({ userId, qty, orderId });
    checkedInput.idempotencyKey(metadata);
    return { sku: checkedInput.sku(sku), ...body };
  },

  ticketId(ticketId: string | undefined) {
    return checkTicketParams({ id: ticketId }).id;
  },

  availability(items: StockLine__Output[]) {
    return checkAvailabilityBody({ items: items.map(line) });
  },

  checkStock(request: CheckStockRequest__Output) {
    // An unset line is an absent one, refused as a body without items would be.
    return checkedInput.availability(request.item ? [request.item] : []);
  },

  bulkCheckStock(request: BulkCheckStockRequest__Output) {
    return checkedInput.availability(request.items);
  },

  sku(sku: string | undefined) {
    return checkSkuParams({ sku }).sku;
  },

  reservationId(reservationId: string | undefined) {
    return checkReservationParams({ id: reservationId }).id;
  },

  extend(request: ExtendReservationRequest__Output) {
    return { id: checkedInput.reservationId(request.reservationId), ...checkExtendBody({ ttlSeconds: request.ttlSeconds }) };
  },

  updateStock(request: UpdateStockRequest__Output) {
    const { sku, total, locations, perUserLimit, startsAt, endsAt, line, buckets } = request;
    // No repeated field is ever absent in protobuf: an empty one stands for "not given".
    // A location's total is a plain proto3 int32: most protobuf libraries leave a 0 off the wire.
    const given = locations.length ? locations.map(({ location, total }) => ({ location, total: total ?? 0 })) : undefined;
    // An unset line is a body without one: PUT replaces, so the SKU then has none.
    const lineGiven = line && withoutUnset({ holdTtlSeconds: line.holdTtlSeconds, lobbySeconds: line.lobbySeconds });
    return { sku: checkedInput.sku(sku), body: checkPutSkuBody({ total, locations: given, perUserLimit, startsAt, endsAt, line: lineGiven, buckets }) };
  },
};

import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors';

/** RFC 3339 as ajv-formats checks it: real calendar days, a zone required. */
const isRfc3339DateTime = (addFormats.get('date-time') as { validate: (text: string) => boolean }).validate;

/**
 * The instants a time may name. No sale window lies before 1970, and far older times do not come
 * back as sent (JS reads Postgres' "0070-01-01 00:00:00+00" as 1970); after 9999 toISOString writes
 * a six-digit year (+010000-…) that ISO readers refuse.
 */
const EARLIEST_TIME_MS = Date.parse('1970-01-01T00:00:00.000Z');
const LATEST_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * A `date-time` every layer reads as the instant RFC 3339 means. ajv-formats alone also accepts
 * times that `Date.parse` (which the routes and Postgres writes go through) reads as NaN or wrongly.
 */
function isStorableDateTime(text: string): boolean {
  if (!isRfc3339DateTime(text)) return false;
  // A space for the T sends Date to its legacy parser (year 0070 read as 1970); a fraction of ten
  // or more digits is misread (.0007000000 as 7 ms): nanoseconds at most.
  if (text[10].toUpperCase() !== 'T' || /\.\d{10}/.test(text)) return false;
  // NaN for a leap second (23:59:60) and an hour-only offset (+01).
  const ms = Date.parse(text);
  return ms >= EARLIEST_TIME_MS && ms <= LATEST_TIME_MS;
}

function makeAjv(coerceTypes: boolean) {
  const ajv = new Ajv({
    // Unknown fields are an error (400), never silently dropped.
    removeAdditional: false,
    useDefaults: true,
    coerceTypes,
    allErrors: false,
    keywords: ['example'],
  });
  ajv.addFormat('date-time', { type: 'string', validate: isStorableDateTime });
  return ajv;
}

/**
 * ajv coerces the text "Infinity" (or "1e400") to a number and then skips minimum and maximum for
 * it, so `?limit=Infinity` would pass. No URL or header part names an infinite number: refused.
 */
function refusingInfinity(schema: FieldSchema, validate: ValidateFunction): Validator {
  // A part naming no number (headers on most routes) has nothing to check: it runs on every request.
  const numeric = Object.values(schema.properties ?? {}).some((field) => [field.type].flat().some((type) => type === 'number' || type === 'integer'));
  if (!numeric) return validate;
  const validateFinite = (data: unknown): boolean => {
    if (!validate(data)) {
      validateFinite.errors = validate.errors;
      return false;
    }
    const infinite = Object.entries(data as object).find(([, value]) => typeof value === 'number' && !Number.isFinite(value));
    validateFinite.errors = infinite ? [{ instancePath: `/${infinite[0]}`, schemaPath: '#/type', keyword: 'type', params: {}, message: 'must be a finite number' }] : null;
    return !infinite;
  };
  validateFinite.errors = null as ErrorObject[] | null | undefined;
  return validateFinite;
}

/** The part of a JSON schema that tells which fields are optional and which take null. */
interface FieldSchema {
  type?: string | readonly string[];
  required?: readonly string[];
  properties?: Record<string, FieldSchema>;
  items?: FieldSchema;
}

const takesNull = (schema: FieldSchema) => schema.type === 'null' || (Array.isArray(schema.type) && schema.type.includes('null'));

/**
 * docs/api.md#conventions: an optional field sent as null means the same as leaving it out
 * (answers show `"orderId": null`, so requests may send it back). Such fields are removed before
 * the schema is checked, so defaults apply; a field whose schema takes null keeps it (PUT's
 * perUserLimit).
 */
function dropNullOptionals(plan: NullPlan, data: unknown): void {
  if (Array.isArray(data)) {
    if (plan.items) for (const item of data) dropNullOptionals(plan.items, item);
    return;
  }
  if (typeof data !== 'object' || data === null) return;
  const record = data as Record<string, unknown>;
  for (const { key, droppable, nested } of plan.fields) {
    if (!Object.hasOwn(record, key)) continue;
    const value = record[key];
    if (value === null && droppable) delete record[key];
    else if (nested) dropNullOptionals(nested, value);
  }
}

/** What dropNullOptionals does for one schema, worked out once: it runs on every request body. */
interface NullPlan {
  fields: { key: string; droppable: boolean; nested?: NullPlan }[];
  items?: NullPlan;
}

/** The plan of a schema, or undefined when no value it describes ever has a field to drop. */
function nullPlan(schema: FieldSchema): NullPlan | undefined {
  const items = schema.items && nullPlan(schema.items);
  const fields = Object.entries(schema.properties ?? {}).flatMap(([key, field]) => {
    const droppable = !schema.required?.includes(key) && !takesNull(field);
    const nested = nullPlan(field);
    return droppable || nested ? [{ key, droppable, nested }] : [];
  });
  return fields.length || items ? { fields, items } : undefined;
}

/** Checks a value against a schema; on false, `errors` says why. */
export interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** Compiles a JSON schema into a validator, the way one part of a request is checked. */
export type SchemaCompiler = (schema: object) => Validator;

/**
 * Bodies are validated strictly (a quantity sent as "1" is refused); path and query parts are text
 * by nature, so there numbers are coerced from strings. The HTTP routes and the gRPC calls
 * (src/grpc/) check their input with these, against the same schemas.
 */
export function createSchemaCompilers(): { body: SchemaCompiler; part: SchemaCompiler } {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  return { body: (schema) => withoutNullOptionals(schema, strict.compile(schema)), part: (schema) => refusingInfinity(schema, coercing.compile(schema)) };
}

function withoutNullOptionals(schema: FieldSchema, validate: ValidateFunction): Validator {
  const plan = nullPlan(schema);
  const validateBody = (data: unknown): boolean => {
    if (plan) dropNullOptionals(plan, data);
    const valid = validate(data);
    validateBody.errors = validate.errors;
    return valid;
  };
  validateBody.errors = null as ErrorObject[] | null | undefined;
  return validateBody;
}

const PROTO_KEY = '__proto__';

function hasProtoKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return Object.hasOwn(value, PROTO_KEY) || Object.values(value).some(hasProtoKey);
}

/**
 * The JSON body parser. An empty body is no body: routes whose body is optional (commit, release)
 * take it, the others refuse it as missing. A field named "__proto__" is refused by name: it is
 * JSON, but copied by assignment it would replace an object's prototype.
 */
export function parseJsonBody(_request: FastifyRequest, text: string, done: (error: Error | null, body?: unknown) => void): void {
  if (text === '') return done(null, undefined);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    // A SyntaxError: answered 400 INVALID_JSON with what JSON.parse says.
    return done(error as SyntaxError);
  }
  // Only a text spelling it, or escaping characters (which could spell it), is searched.
  if ((text.includes(PROTO_KEY) || text.includes('\\u')) && hasProtoKey(body)) {
    return done(new DomainError('VALIDATION_FAILED', `A field may not be named "${PROTO_KEY}": it could replace an object's prototype.`));
  }
  done(null, body);
}

export function installValidation(app: FastifyInstance): void {
  const compile = createSchemaCompilers();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? compile.body(schema) : compile.part(schema)));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
}

/** The 400 of input that failed its schema: `context` names the part (body, params, headers…). */
export function validationFailed(context: string | undefined, issues: ErrorObject[] | Omit<ErrorObject, 'schemaPath'>[], message: string): DomainError {
  const details = issues.map((issue) => ({ in: context, path: issue.instancePath || undefined, message: issue.message, params: issue.params }));
  return new DomainError('VALIDATION_FAILED', `Invalid request ${context}: ${message}`, details);
}

/** Headers (gRPC: metadata) a request carries one value of: sent more than once, it is refused rather than one value picked. */
export const SINGLE_VALUE_HEADERS = ['authorization', 'idempotency-key'] as const;

/** The 400 of a single-value header or metadata key sent `count` times. */
export function sentMoreThanOnce(where: 'header' | 'metadata', key: string, count: number): DomainError {
  const noun = where === 'header' ? 'Header' : 'Metadata';
  return new DomainError('VALIDATION_FAILED', `${noun} "${key}" was sent ${count} times; send it once.`, { in: where, key, count });
}

/**
 * The one value of a single-value header, refused when it was sent more than once: Node keeps the
 * first `authorization` and joins repeated `idempotency-key` values with ", ", so the request would
 * act on a value the client did not send alone. Read only where the header is used (a guarded
 * route, a reserve): an absent header costs nothing, and a header a route ignores is not looked at.
 */
export function singleHeaderValue(request: FastifyRequest, key: (typeof SINGLE_VALUE_HEADERS)[number]): string | undefined {
  const value = request.headers[key] as string | undefined;
  if (value === undefined) return undefined;
  const raw = request.raw.rawHeaders;
  let count = 0;
  // Only names of a matching length are compared.
  for (let n = 0; n < raw.length; n += 2) if (raw[n].length === key.length && raw[n].toLowerCase() === key) count++;
  if (count > 1) throw sentMoreThanOnce('header', key, count);
  return value;
}

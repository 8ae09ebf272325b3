import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

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
function refusingInfinity(validate: ValidateFunction) {
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

/**
 * Bodies are validated strictly (a quantity sent as "1" is refused); path and query parts are text
 * by nature, so there numbers are coerced from strings.
 */
export function installValidation(app: FastifyInstance): void {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict.compile(schema) : refusingInfinity(coercing.compile(schema))));
}

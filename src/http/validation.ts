import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

function makeAjv(coerceTypes: boolean) {
  const ajv = new Ajv({
    // Unknown fields are an error (400), never silently dropped.
    removeAdditional: false,
    useDefaults: true,
    coerceTypes,
    allErrors: false,
    keywords: ['example'],
  });
  addFormats(ajv, ['date-time']);
  return ajv;
}

/**
 * Bodies are validated strictly (a quantity sent as "1" is refused); path and query parts are text
 * by nature, so there numbers are coerced from strings.
 */
export function installValidation(app: FastifyInstance): void {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
}

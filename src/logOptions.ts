import type { LoggerOptions } from 'pino';

/** `scheme://user:password@host` in any text, with what sits between `//` and `@`. */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^/\s@"']+@/gi;

/** `text` with every URL's credentials (`redis://:password@host`) replaced by `***`. */
export function redactCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@');
}

/**
 * The pino settings of every process of the engine. No secret may reach a log line: tokens are
 * never logged (requests are logged without headers), and URLs with credentials (REDIS_URL,
 * DATABASE_URL, in a start-up line or a driver's error) are redacted as each line is written.
 */
export function engineLogOptions(level: string, base?: Record<string, unknown>): LoggerOptions {
  return {
    level,
    ...(base ? { base } : {}),
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.secret', 'secret'], censor: '***' },
    hooks: { streamWrite: redactCredentials },
  };
}

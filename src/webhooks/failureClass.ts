import { NonPublicAddress } from './destination';

/** Error codes of a failed attempt, by the class the deliveries listing shows. */
const CLASSES: [code: RegExp, failure: string][] = [
  [/^ECONNREFUSED$/, 'connection refused'],
  [/^(ENOTFOUND|ENODATA|EAI_)/, 'DNS lookup failed'],
  [/^(ECONNRESET|EPIPE|ECONNABORTED)$/, 'connection reset'],
  [/^(EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN|EADDRNOTAVAIL)$/, 'host unreachable'],
  [/^(ETIMEDOUT|ERR_SOCKET_CONNECTION_TIMEOUT)$/, 'connection timed out'],
  [/^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/, 'TLS failure'],
  [/^HPE_/, 'not an HTTP answer'],
];

/**
 * What kind of failure ended an attempt that got no status code, in a few words: never the error's
 * own message, which may quote what a foreign server sent (a parser error carries its bytes).
 */
export function failureClass(cause: unknown): string {
  if (cause instanceof NonPublicAddress) return 'refused: non-public address';
  const code = (cause as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' ? CLASSES.find(([pattern]) => pattern.test(code)) : undefined;
  return known?.[1] ?? 'connection failed';
}

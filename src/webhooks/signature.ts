import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The `Flashsale-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * The time is signed with the body, so a captured delivery cannot be replayed later under a
 * fresh time; a receiver refuses a signature older than its tolerance.
 */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmacHex(secret, `${unixSeconds}.${body}`)}`;
}

const hmacHex = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('hex');

/**
 * A receiver's check: true when `header` signs exactly `rawBody` (the bytes received, before
 * any JSON parsing) with `secret`, at a time within `toleranceSeconds` of `nowSeconds`.
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  rawBody: string,
  { toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000) } = {},
): boolean {
  const parts = new Map((header ?? '').split(',').map((part) => part.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(hmacHex(secret, `${t}.${rawBody}`), 'hex'));
}

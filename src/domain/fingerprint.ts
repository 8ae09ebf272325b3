import { createHash } from 'node:crypto';
import type { RequestedLine } from './reservation';

export interface ReserveIntent {
  userId: string;
  orderId: string | null;
  lines: RequestedLine[];
  ttlSeconds: number;
  allowPartial: boolean;
}

/**
 * Digest of what a reserve request asks for, after merging lines: the same key sent with a
 * different body is refused rather than replayed. Line order does not matter.
 */
export function requestFingerprint(intent: ReserveIntent): string {
  const lines = intent.lines
    .map((line) => `${line.sku}${line.location === undefined ? "" : `@${line.location}`}*${line.qty}`)
    .sort()
    .join(',');
  const canonical = [intent.userId, intent.orderId ?? '', lines, intent.ttlSeconds, intent.allowPartial ? 1 : 0].join('\n');
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

/** Idempotency keys are client text: only their digest ever becomes part of a Redis key. */
export function idempotencyKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 22);
}

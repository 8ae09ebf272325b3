/**
 * An Idempotency-Key binding, as the scripts store it under the key's Redis key (written by
 * lua/includes/idempotencyBinding.lua, for reserve and idem_settle):
 *   "<reservationId>|<fingerprint>"   with   fingerprint = "<key hash>~<body digest>"
 * (its Lua twin, lua/includes/idempotencyBinding.lua, also reads the claim "!<reservationId>|…"
 * and the mark "…|R" of a binding a retry was answered with; a restored binding carries neither).
 * The fingerprint carries the key's digest too, so the RESERVE outbox event of a bound request
 * ("<reservationId>~<fingerprint>|<record>", see reservationRecord.ts) holds all Postgres needs to
 * restore the binding. Digests are base64url: they never contain "~" or "|".
 */
export interface IdempotencyBinding {
  reservationId: string;
  keyHash: string;
  /** Digest of the request body (see src/domain/fingerprint.ts). */
  bodyDigest: string;
}

/** What the reserve script compares and stores for a request that carries a key. */
export function bindingFingerprint(keyHash: string, bodyDigest: string): string {
  return `${keyHash}~${bodyDigest}`;
}

/** The binding's value in Redis. */
export function encodeBinding(binding: IdempotencyBinding): string {
  return `${binding.reservationId}|${bindingFingerprint(binding.keyHash, binding.bodyDigest)}`;
}

/** The head of a RESERVE event: "<reservationId>" alone, or with the fingerprint of its binding. */
export function decodeEventHead(head: string): { id: string; binding?: IdempotencyBinding } {
  const [id, keyHash, bodyDigest] = head.split('~');
  return keyHash === undefined ? { id } : { id, binding: { reservationId: id, keyHash, bodyDigest } };
}

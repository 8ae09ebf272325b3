import { randomFillSync } from 'node:crypto';

/**
 * Reservation ids: the home partition in one url-safe character, then 16 random ones (96 bits),
 * short to keep Redis memory low. The home partition is where the reservation's record lives, so
 * any engine finds it from the id alone.
 */
export const RESERVATION_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

/** The 64 url-safe characters, in base64url order: the first one of an id is its home partition. */
const HOME_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** At most this many Redis partitions: an id names its home partition in one character. */
export const MAX_PARTITIONS = HOME_ALPHABET.length;

/** The home partition an id names (for an id the engine did not make, some partition all the same). */
export function homeOfReservationId(id: string): number {
  return Math.max(0, HOME_ALPHABET.indexOf(id[0]));
}

const POOL_IDS = 1024;
const BYTES_PER_ID = 12;
const pool = Buffer.alloc(POOL_IDS * BYTES_PER_ID);
let next = POOL_IDS;

/** A new id homed in `home` (0..63). Draws random bytes in blocks: one syscall per id would cost on the hot path. */
export function newReservationId(home = 0): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const start = next++ * BYTES_PER_ID;
  return HOME_ALPHABET[home] + pool.toString('base64url', start, start + BYTES_PER_ID);
}

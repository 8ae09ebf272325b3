import { randomFillSync } from 'node:crypto';

/** Reservation ids: 16 url-safe characters (96 random bits), short to keep Redis memory low. */
export const RESERVATION_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

const POOL_IDS = 1024;
const BYTES_PER_ID = 12;
const pool = Buffer.alloc(POOL_IDS * BYTES_PER_ID);
let next = POOL_IDS;

/** Draws random bytes in blocks, since one syscall per reservation would cost on the hot path. */
export function newReservationId(): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const start = next++ * BYTES_PER_ID;
  return pool.toString('base64url', start, start + BYTES_PER_ID);
}

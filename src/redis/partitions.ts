/**
 * Partitions: every Redis key lives in one, a hash tag `{p<n>}`, so a script over one partition's
 * keys is legal (and atomic) on a Redis Cluster. A SKU's keys, the records of reservations held
 * there, its slice of the outbox and of the sweep index share the SKU's partition; an
 * Idempotency-Key lives in its user's. A single Redis is a cluster of one shard with, by default,
 * one partition (REDIS_PARTITIONS). lua/includes/partition.lua computes the same function.
 */


/**
 * The partition of a SKU or a user: a 32-bit multiplicative string hash (h * 33 + byte, kept
 * below 2^32 so that Lua's doubles compute it exactly too) modulo the partition count.
 */
export function partitionOf(text: string, count: number): number {
  if (count === 1) return 0;
  let hash = 5381;
  const bytes = Buffer.from(text, 'utf8');
  for (const byte of bytes) hash = (hash * 33 + byte) % 4294967296;
  return hash % count;
}

/** Every partition number, in order. */
export function allPartitions(count: number): number[] {
  return Array.from({ length: count }, (_, n) => n);
}

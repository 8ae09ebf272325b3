/**
 * Partitions: every Redis key lives in one, a hash tag `{p<n>}`, so a script over one partition's
 * keys is legal (and atomic) on a Redis Cluster. A SKU's keys, the records of reservations held
 * there, its slice of the outbox and of the sweep index share the SKU's partition; an
 * Idempotency-Key lives in its user's. A single Redis is a cluster of one shard with, by default,
 * one partition (REDIS_PARTITIONS). lua/includes/partition.lua computes the same function.
 */
import { parseBucketSku } from '../domain/buckets';

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

/**
 * The partition of a SKU or of one of its buckets (src/domain/buckets.ts): a SKU's own is a hash of
 * its name; bucket i is i partitions further on, so N buckets over at least N partitions are N
 * different partitions. lua/includes/partition.lua computes the same.
 */
export function partitionOfSku(name: string, count: number): number {
  if (count === 1) return 0;
  const { sku, bucket } = parseBucketSku(name);
  return (partitionOf(sku, count) + bucket) % count;
}

/**
 * The bucket a user reserves a bucketed SKU in: a hash of the user, so that the user's count for
 * the per-user limit and the user's Idempotency-Keys have one home while units move to it.
 */
export function homeBucket(userId: string, buckets: number): number {
  return buckets === 1 ? 0 : partitionOf(userId, 0x7fffffff) % buckets;
}

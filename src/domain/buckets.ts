/**
 * Buckets: a SKU's units split over several partitions, so that its reserves run on several Redis
 * cores (API.md, "Hot SKUs beyond one Redis shard"). Each bucket is kept as a SKU of its own, with
 * every key, script, drain, repair and rebuild a SKU has: bucket 0 is the SKU itself, bucket i an
 * internal SKU "<sku>~<i>". "~" can never appear in a SKU a client names (SKU_PATTERN), so a
 * bucket's name never collides with a real SKU's. Bucket i lives in the partition after bucket
 * i-1's (src/redis/partitions.ts), so N buckets over at least N partitions are N different partitions.
 */

/** Splits a bucket's internal name from the SKU's. */
export const BUCKET_SEPARATOR = '~';

/** The most buckets a SKU may be split into. */
export const MAX_BUCKETS = 64;

/** The internal SKU of a SKU's bucket: the SKU itself for bucket 0. */
export function bucketSku(sku: string, bucket: number): string {
  return bucket === 0 ? sku : `${sku}${BUCKET_SEPARATOR}${bucket}`;
}

/** The SKU a name belongs to and its bucket in it (0 for a SKU's own name). */
export function parseBucketSku(name: string): { sku: string; bucket: number } {
  const at = name.lastIndexOf(BUCKET_SEPARATOR);
  if (at < 0) return { sku: name, bucket: 0 };
  return { sku: name.slice(0, at), bucket: Number(name.slice(at + 1)) };
}

/** Every bucket's internal SKU, bucket 0 first. */
export function bucketSkus(sku: string, buckets: number): string[] {
  return Array.from({ length: buckets }, (_, bucket) => bucketSku(sku, bucket));
}

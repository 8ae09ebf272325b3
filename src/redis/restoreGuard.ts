import type { RedisKeys } from './keys';

/**
 * The key a restore from Postgres needs in a partition to write there (lua/restore_sku.lua,
 * lua/restore_record.lua). A restore reads Postgres, then writes; should Redis lose its data in
 * between, what it read may be older than what Postgres holds by then (another engine rebuilt the
 * partition, served it and drained a commit meanwhile), and a SKU it wrote into the emptied Redis
 * would be kept by the next rebuild, which restores only what Redis lacks. The guard is gone with
 * the data, so such a restore writes nothing more.
 *
 * A partition's guard: the rebuild's token when the restore rebuilds that partition (written
 * before it read Postgres, see RedisStore.beginRebuild), else its data marker (a SKU lost alone:
 * its partition must still hold the rest of its data).
 */
export type RestoreGuard = (partition: number) => string;

export function restoreGuard(keys: RedisKeys, tokens: ReadonlyMap<number, string> = new Map()): RestoreGuard {
  return (partition) => {
    const token = tokens.get(partition);
    return token === undefined ? keys.dataMarker(partition) : keys.rebuildToken(partition, token);
  };
}

/**
 * Where a SKU's counters stand in Redis's history: the shard epoch of its partition they were
 * written in (lua/start_epoch.lua: a failover or a rebuild begins a new one) and its change counter
 * `version` within it. Marks are ordered as pairs: a newer epoch wins whatever its version, so a
 * master promoted after losing the last writes (its versions rewound) is still newer than what
 * Postgres drained from the master before it.
 */
export interface ChangeMark {
  epoch: number;
  version: number;
}

/** Whether `a` is a later state of the SKU than `b`. */
export function isNewer(a: ChangeMark, b: ChangeMark): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.version > b.version);
}

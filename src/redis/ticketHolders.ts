import type { RedisStore } from './redisStore';

/** Lines longer than this are not loaded: their joins are answered by Redis. */
const MAX_HOLDERS = 200_000;

/** The users with a ticket in a SKU's line, as Redis had them at one state of the SKU. */
export interface TicketHolders {
  version: number;
  shardEpoch: number;
  /** null: more than MAX_HOLDERS. */
  users: Set<string> | null;
}

/**
 * Reads who holds a ticket in a SKU's line, with the state it was read at, in one transaction
 * (the line's keys share the SKU's slot). A join adds a ticket and moves the SKU's version, so
 * the set is whole for as long as the SKU keeps that version in that epoch: a join of anyone else
 * would make no ticket. src/redis/soldOutWatch.ts answers a sold-out line's joins with it.
 */
export async function readTicketHolders(store: RedisStore, sku: string): Promise<TicketHolders> {
  const { keys } = store;
  const stock = keys.stock(sku);
  const users = keys.lineUsers(sku);
  const epoch = keys.epoch(keys.partitionOfSku(sku));
  const count = await store.call((client) => client.hlen(users));
  const replies = await store.call((client) => {
    const transaction = client.multi().hmget(stock, 'version', 'epoch').hget(epoch, 'epoch');
    return (count > MAX_HOLDERS ? transaction : transaction.hkeys(users)).exec();
  });
  for (const [error] of replies ?? []) if (error) throw error;
  const [[, state], [, partitionEpoch], holders] = replies as [[null, (string | null)[]], [null, string | null], [null, string[]]?];
  return {
    version: Number(state[0] ?? 0),
    shardEpoch: Number(partitionEpoch ?? state[1] ?? 0),
    users: holders ? new Set(holders[1]) : null,
  };
}

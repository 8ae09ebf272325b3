/**
 * Snapshots as scripts write them ([sku, total, available, reserved, sold, version, location rows
 * or false, epoch]). The drain's writes compare (epoch, version) as a pair (src/domain/changeMark.ts), in the SQL of
 * src/db/ on Postgres and on PGlite, migrated up to 0005: a snapshot of a newer shard epoch wins
 * whatever its version (a promoted replica rewound the counter), one of an older epoch never does,
 * within an epoch the version decides as before; the SKU's locations and the webhooks' stock state
 * follow the same rule. A newer epoch's snapshot over an earlier one marks the SKU's facts due for
 * the drift check.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase, queryRows } from '../../src/db/client';
import { clearFactsDue } from '../../src/db/skuRepository';
import { saveStockStates } from '../../src/db/webhookRepository';
import { parseEntry } from '../../src/redis/outboxEntry';
import { type DatabaseTarget, createTestDatabase, uniqueName, writeEntries } from '../support/context';

const located = (paris: number, rome: number) => [
  ['paris', paris, paris, 0, 0, 1],
  ['rome', rome, rome, 0, 0, 1],
];

describe.each<DatabaseTarget>(['postgres', 'pglite'])('the shard epoch in the drain on %s', (target) => {
  let handle: DatabaseHandle;
  let drop: (() => Promise<void>) | undefined;
  let entries = 0;

  beforeAll(async () => {
    if (target === 'pglite') {
      handle = await openDatabase({ dataDir: 'memory://' });
      return;
    }
    const database = await createTestDatabase();
    drop = database.drop;
    handle = await openDatabase({ url: database.url, dataDir: '' });
  });
  afterAll(async () => {
    await handle?.close();
    await drop?.();
  });

  /** Drains one batch of outbox entries, each a list of stock snapshots (the first carrying a SET when `set`). */
  const drain = async (snapshots: unknown[][][], set?: string) => {
    const batch = snapshots.map((stock, n) => {
      entries += 1;
      const events = n === 0 && set ? [{ type: 'SET', at: 1000, sku: set, delta: 1, actor: 'admin' }] : [];
      return parseEntry(`${entries}-0`, JSON.stringify({ events, stock }));
    });
    await writeEntries(handle.db, batch);
  };
  const row = async (sku: string) => {
    const [found] = await queryRows<{ total: number; version: number; epoch: number }>(
      handle.db,
      sql`select total, version::int, epoch::float8 as epoch from skus where sku = ${sku}`,
    );
    return found;
  };
  const levels = (sku: string) =>
    queryRows<{ location: string; total: number; version: number; epoch: number }>(
      handle.db,
      sql`select location, total, version::int, epoch::float8 as epoch from stock_levels where sku = ${sku} order by position`,
    );

  it('a snapshot of a newer epoch wins whatever its version; one of an older epoch never does', async () => {
    const sku = uniqueName('epoch-');
    const first = 1_764_900_000_000;
    const second = first + 60_000;
    await drain([[[sku, 10, 10, 0, 0, 1000, false, first]]], sku);
    expect(await row(sku)).toEqual({ total: 10, version: 1000, epoch: first });

    // The same epoch: the version decides, as it always did.
    await drain([[[sku, 11, 11, 0, 0, 990, false, first]]]);
    expect(await row(sku)).toEqual({ total: 10, version: 1000, epoch: first });
    await drain([[[sku, 12, 12, 0, 0, 1001, false, first]]]);
    expect(await row(sku)).toEqual({ total: 12, version: 1001, epoch: first });

    // A replica promoted at version 990 began a new epoch: its next change is taken at once.
    await drain([[[sku, 13, 13, 0, 0, 991, false, second]]]);
    expect(await row(sku)).toEqual({ total: 13, version: 991, epoch: second });

    // The old master's snapshots, still in flight, lose whatever their version.
    await drain([[[sku, 14, 14, 0, 0, 5000, false, first]]]);
    expect(await row(sku)).toEqual({ total: 13, version: 991, epoch: second });

    // Within one batch, the plan keeps the newest pair, in either order.
    await drain([[[sku, 15, 15, 0, 0, 992, false, second]], [[sku, 16, 16, 0, 0, 9999, false, first]]]);
    expect(await row(sku)).toEqual({ total: 15, version: 992, epoch: second });
    await drain([[[sku, 17, 17, 0, 0, 2, false, second + 1]], [[sku, 18, 18, 0, 0, 993, false, second]]]);
    expect(await row(sku)).toEqual({ total: 17, version: 2, epoch: second + 1 });
  });

  it('a snapshot of a newer epoch over an earlier one marks the facts due; the check clears it at that epoch only', async () => {
    const sku = uniqueName('epoch-due-');
    const due = async () => (await queryRows<{ due: boolean }>(handle.db, sql`select facts_due as due from skus where sku = ${sku}`))[0].due;
    // The first epoch after 0 (an upgrade, a first start) is no failover.
    await drain([[[sku, 5, 5, 0, 0, 3, false, 0]]], sku);
    await drain([[[sku, 5, 5, 0, 0, 4, false, 30]]]);
    expect(await due()).toBe(false);
    await drain([[[sku, 5, 5, 0, 0, 1, false, 40]]]);
    expect(await due()).toBe(true);
    // A later snapshot of the same epoch keeps it.
    await drain([[[sku, 6, 6, 0, 0, 2, false, 40]]]);
    expect(await due()).toBe(true);
    await clearFactsDue(handle.db, [{ sku, epoch: 30 }]);
    expect(await due()).toBe(true);
    await clearFactsDue(handle.db, [{ sku, epoch: 40 }]);
    expect(await due()).toBe(false);
  });

  it("a SKU's locations follow the same rule, a location dropped in a newer epoch is deleted", async () => {
    const sku = uniqueName('epoch-loc-');
    await drain([[[sku, 9, 9, 0, 0, 50, located(4, 5), 7]]], sku);
    expect(await levels(sku)).toEqual([
      { location: 'paris', total: 4, version: 50, epoch: 7 },
      { location: 'rome', total: 5, version: 50, epoch: 7 },
    ]);
    await drain([[[sku, 3, 3, 0, 0, 40, [['paris', 3, 3, 0, 0, 1]], 8]]]);
    expect(await levels(sku)).toEqual([{ location: 'paris', total: 3, version: 40, epoch: 8 }]);
    expect(await row(sku)).toEqual({ total: 3, version: 40, epoch: 8 });
    // An older epoch's snapshot, at a higher version, neither writes nor deletes.
    await drain([[[sku, 9, 9, 0, 0, 60, located(4, 5), 7]]]);
    expect(await levels(sku)).toEqual([{ location: 'paris', total: 3, version: 40, epoch: 8 }]);
  });

  it('a SET of an older epoch leaves the settings of a newer one alone', async () => {
    const sku = uniqueName('epoch-set-');
    await drain([[[sku, 5, 5, 0, 0, 3, false, 20]]], sku);
    const limit = () => queryRows<{ limit: number | null }>(handle.db, sql`select per_user_limit as limit from skus where sku = ${sku}`);
    const setWithLimit = (perUserLimit: number, stock: unknown[]) =>
      writeEntries(handle.db, ([parseEntry(`${++entries}-0`, JSON.stringify({ events: [{ type: 'SET', at: 2000, sku, delta: 0, actor: 'admin', perUserLimit }], stock: [stock] }))]),
      );
    await setWithLimit(2, [sku, 5, 5, 0, 0, 99, false, 10]);
    expect(await limit()).toEqual([{ limit: null }]);
    await setWithLimit(3, [sku, 5, 5, 0, 0, 1, false, 21]);
    expect(await limit()).toEqual([{ limit: 3 }]);
  });

  it('an entry written before snapshots carried the epoch counts in epoch 0', async () => {
    const sku = uniqueName('epoch-old-');
    await drain([[[sku, 4, 4, 0, 0, 8]]], sku);
    expect(await row(sku)).toEqual({ total: 4, version: 8, epoch: 0 });
    await drain([[[sku, 2, 2, 0, 0, 9, [['default', 2, 2, 0, 0, 1]]]]]);
    expect(await row(sku)).toEqual({ total: 2, version: 9, epoch: 0 });
    await drain([[[sku, 6, 6, 0, 0, 1, false, 1]]]);
    expect(await row(sku)).toEqual({ total: 6, version: 1, epoch: 1 });
  });

  it("the webhooks' stock state saves a newer epoch's available units, not an older one's", async () => {
    const sku = uniqueName('epoch-hook-');
    expect(await saveStockStates(handle.db, [{ sku, available: 5, version: 100, epoch: 1 }])).toEqual([{ sku, previous: null }]);
    expect(await saveStockStates(handle.db, [{ sku, available: 4, version: 90, epoch: 1 }])).toEqual([]);
    expect(await saveStockStates(handle.db, [{ sku, available: 0, version: 91, epoch: 2 }])).toEqual([{ sku, previous: 5 }]);
    expect(await saveStockStates(handle.db, [{ sku, available: 3, version: 500, epoch: 1 }])).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseEntry } from '../../src/redis/outboxEntry';
import { planWrites } from '../../src/reconciler/writePlan';

const entry = (entryId: string, events: unknown[], stock: unknown) => parseEntry(entryId, JSON.stringify({ events, stock }));

describe('planWrites', () => {
  const batch = [
    entry('1-0', [{ type: 'SET', at: 1000, sku: 'a', delta: 10, actor: 'admin', perUserLimit: 2 }], [['a', 10, 10, 0, 0, 1]]),
    // A RESERVE is "<id>|<record>": created at 2000 for 900000 ms, lines a 3/3 and b 1/0.
    entry('2-0', ['r1|P|2000|900000||u|o|a|3|3,b|1|0'], [['a', 10, 7, 3, 0, 2]]),
    entry('3-0', [{ type: 'COMMIT', at: 3000, id: 'r1', lines: [['r1', 'a', 3]] }], [['a', 10, 7, 0, 3, 3]]),
    // Lua's cjson writes an empty list as {}.
    entry('4-0', [{ type: 'EXPIRE', at: 4000, id: 'r2', lines: {} }], {}),
  ];

  it('plans reservations, items, terminal states and movements keyed by stream entry and line', () => {
    const plan = planWrites(batch);
    expect(plan.reservations).toEqual([{ id: 'r1', user_id: 'u', order_id: 'o', created_at: 2000, expires_at: 902000 }]);
    expect(plan.items.map((i) => [i.sku, i.line_no, i.qty, i.reserved])).toEqual([['a', 0, 3, 3], ['b', 1, 1, 0]]);
    expect(plan.finishes).toEqual([
      { id: 'r1', status: 'COMMITTED', at: 3000 },
      { id: 'r2', status: 'EXPIRED', at: 4000 },
    ]);
    expect(plan.movements.map((m) => [m.event_key, m.type, m.sku, m.qty])).toEqual([
      ['1-0:0:0', 'SET', 'a', 10],
      ['2-0:0:0', 'RESERVE', 'a', 3],
      ['3-0:0:0', 'COMMIT', 'a', 3],
    ]);
    expect(plan.skuSettings).toMatchObject([{ sku: 'a', per_user_limit: 2, starts_at: null, version: 1 }]);
  });

  it('plans one bucket_moves row per move, its halves from one batch or two, and a MOVE movement per half', () => {
    const out = entry('5-0', [{ type: 'MOVE', at: 5000, sku: 'hot', delta: -4, move: 'm1', peer: 'hot~2' }], [['hot', 6, 6, 0, 0, 4]]);
    const arrived = entry('6-0', [{ type: 'MOVE', at: 5001, sku: 'hot~2', delta: 4, move: 'm1', peer: 'hot' }], [['hot~2', 4, 4, 0, 0, 1]]);
    const both = { id: 'm1', from_sku: 'hot', to_sku: 'hot~2', qty: 4, location: null, out_at: 5000, in_at: 5001 };
    expect(planWrites([out, arrived]).bucketMoves).toEqual([both]);
    expect(planWrites([arrived, out]).bucketMoves).toEqual([both]);
    expect(planWrites([arrived]).bucketMoves).toEqual([{ ...both, out_at: null }]);
    expect(planWrites([out, arrived]).movements.map((m) => [m.type, m.sku, m.qty, m.reason])).toEqual([
      ['MOVE', 'hot', -4, 'moved to hot~2'],
      ['MOVE', 'hot~2', 4, 'moved from hot'],
    ]);
  });

  it('keeps the location a move took its units from, whichever half comes first', () => {
    const out = entry('5-0', [{ type: 'MOVE', at: 5000, sku: 'hot', delta: -2, move: 'm2', peer: 'hot~1', location: 'paris' }], [['hot', 6, 6, 0, 0, 4]]);
    // The target had retired paris meanwhile: its half says where the units arrived (lua/bucket_move_in.lua).
    const arrived = entry('6-0', [{ type: 'MOVE', at: 5001, sku: 'hot~1', delta: 2, move: 'm2', peer: 'hot', location: 'paris' }], [['hot~1', 2, 2, 0, 0, 1]]);
    for (const order of [[out, arrived], [arrived, out]]) {
      const plan = planWrites(order);
      expect(plan.bucketMoves).toEqual([{ id: 'm2', from_sku: 'hot', to_sku: 'hot~1', qty: 2, location: 'paris', out_at: 5000, in_at: 5001 }]);
      expect(plan.movements.map((m) => [m.sku, m.location, m.qty])).toEqual(order.map((e) => (e === out ? ['hot', 'paris', -2] : ['hot~1', 'paris', 2])));
    }
    expect(planWrites([arrived]).bucketMoves[0].location).toBeNull();
  });

  it('keeps only the newest counter snapshot of each SKU, whatever the order', () => {
    // Snapshots written before they carried the shard epoch count in epoch 0.
    expect(planWrites(batch).snapshots).toEqual([{ sku: 'a', total: 10, available: 7, reserved: 0, sold: 3, version: 3, epoch: 0 }]);
    expect(planWrites([...batch].reverse()).snapshots).toEqual([{ sku: 'a', total: 10, available: 7, reserved: 0, sold: 3, version: 3, epoch: 0 }]);
  });

  it('orders snapshots by (epoch, version): a newer epoch wins whatever its version', () => {
    // As scripts write them: [sku, total, available, reserved, sold, version, location rows or false, epoch].
    const rewound = [
      entry('7-0', [], [['a', 9, 9, 0, 0, 990, false, 200]]),
      entry('8-0', [], [['a', 8, 8, 0, 0, 1000, false, 100]]),
      entry('9-0', [], [['a', 7, 7, 0, 0, 989, false, 200]]),
    ];
    for (const order of [rewound, [...rewound].reverse()]) {
      const plan = planWrites(order);
      expect(plan.snapshots).toEqual([{ sku: 'a', total: 9, available: 9, reserved: 0, sold: 0, version: 990, epoch: 200 }]);
      expect(plan.levels).toMatchObject([{ sku: 'a', location: 'default', total: 9, version: 990, epoch: 200 }]);
    }
  });

  it('keeps only the last extension of a reservation within a batch', () => {
    const plan = planWrites([
      entry('5-0', [{ type: 'EXTEND', at: 5000, id: 'r3', expiresAt: 300_000 }], {}),
      entry('6-0', [{ type: 'EXTEND', at: 6000, id: 'r3', expiresAt: 200_000 }], {}),
    ]);
    expect(plan.extensions).toEqual([{ id: 'r3', expires_at: 200_000 }]);
  });

  it('is deterministic: the same batch plans the same rows (writing it twice is a no-op in SQL)', () => {
    expect(planWrites(batch)).toEqual(planWrites(batch));
  });
});

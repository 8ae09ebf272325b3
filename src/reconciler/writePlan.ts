import type { BucketMoveRow } from '../db/bucketMoveRepository';
import type { NewBindingRow } from '../db/factsRepository';
import type { LineRemovalRow, LineTicketRow } from '../db/lineTicketRepository';
import type { NewReservationRow, ReservationExtensionRow, ReservationFinishRow, ReservationItemRow } from '../db/reservationRepository';
import type { MovementRow, SkuSettingsRow, SkuSnapshotRow, StockLevelRow } from '../db/skuRepository';
import { isNewer } from '../domain/changeMark';
import { DEFAULT_LOCATION } from '../domain/reservation';
import type { OutboxEntry, OutboxEvent, StockSnapshot, TicketEvent } from '../redis/outboxEntry';
import { type HoldUnits, decodeHoldUnits } from '../redis/holdUnits';
import { defaultLevel, levelsOfRows } from '../redis/stockHash';

/**
 * Rows one batch of outbox events turns into: pure data, written by applyEntries. Times are
 * epoch milliseconds (Redis time), turned into timestamptz by the statements of src/db/.
 */
export interface WritePlan {
  reservations: NewReservationRow[];
  bindings: NewBindingRow[];
  /** Reservations whose binding was undone (a reserve answered 503). */
  unbinds: string[];
  items: ReservationItemRow[];
  finishes: ReservationFinishRow[];
  extensions: ReservationExtensionRow[];
  movements: MovementRow[];
  /** Moves between buckets: each half as it arrives (src/reconciler/bucketMoves.ts). */
  bucketMoves: BucketMoveRow[];
  skuSettings: SkuSettingsRow[];
  snapshots: SkuSnapshotRow[];
  /** Every location of each SKU in `snapshots`, at the same epoch and version. */
  levels: StockLevelRow[];
  /** Each ticket once, in the latest state the batch gave it. */
  tickets: LineTicketRow[];
  /** Per SKU, the last SET without a line: tickets joined before it no longer hold their users. */
  lineRemovals: LineRemovalRow[];
}

const FINISHED = { COMMIT: 'COMMITTED', RELEASE: 'RELEASED', EXPIRE: 'EXPIRED' } as const;

const TICKET_STATUS_OF = { JOIN: 'WAITING', ADMIT: 'ADMITTED', LEAVE: 'LEFT', SOLD_OUT: 'SOLD_OUT', CLOSE: 'CLOSED' } as const;

const ticketRow = (event: TicketEvent): LineTicketRow => ({
  id: event.ticket,
  sku: event.sku,
  user_id: event.userId,
  qty: event.qty,
  order_id: event.orderId || null,
  status: TICKET_STATUS_OF[event.type],
  place: event.place,
  lobby: event.lobby,
  joined_at: event.joinedAt,
  at: event.at,
});

/** Who moves units between buckets: the engine itself. */
const MOVE_ACTOR = 'engine';

const markOf = (snapshot: StockSnapshot) => ({ version: snapshot[5], epoch: snapshot[6] });

const emptyPlan = (): WritePlan => ({
  reservations: [],
  bindings: [],
  unbinds: [],
  items: [],
  finishes: [],
  extensions: [],
  movements: [],
  bucketMoves: [],
  skuSettings: [],
  snapshots: [],
  levels: [],
  tickets: [],
  lineRemovals: [],
});

/**
 * Plans the Postgres writes of a batch. Every row is keyed so that writing the same batch twice
 * changes nothing: reservations and items by id, movements by stream entry, event, line and (on a
 * SKU with locations) location, SKU counters by their Redis epoch and version (an older snapshot
 * never overwrites a newer one; a newer epoch wins whatever its version, src/domain/changeMark.ts), tickets by id (a ticket leaves WAITING once, and never comes back).
 */
export function planWrites(entries: readonly OutboxEntry[]): WritePlan {
  const plan = emptyPlan();
  const latest = new Map<string, StockSnapshot>();
  const settings = new Map<string, WritePlan['skuSettings'][number]>();
  const extensions = new Map<string, number>();
  const tickets = new Map<string, LineTicketRow>();
  const lineRemovals = new Map<string, number>();
  const bucketMoves = new Map<string, BucketMoveRow>();

  type Extra = { reason?: string; actor?: string; reservationId?: string; location?: string };
  const movement = (eventKey: string, sku: string, type: string, qty: number, at: number, extra: Extra) =>
    plan.movements.push({
      event_key: eventKey,
      sku,
      location: extra.location ?? DEFAULT_LOCATION,
      type,
      qty,
      reason: extra.reason ?? null,
      actor: extra.actor ?? null,
      reservation_id: extra.reservationId ?? null,
      at,
    });
  /** Held units move per location; a SKU without locations keeps the movement key it always had. */
  const holdMovements = (eventKey: string, sku: string, type: string, { units, allocations }: HoldUnits, at: number, extra: Extra) => {
    if (!allocations) movement(eventKey, sku, type, units, at, extra);
    else for (const { location, reserved } of allocations) movement(`${eventKey}@${location}`, sku, type, reserved, at, { ...extra, location });
  };

  const planEvent = (event: OutboxEvent, eventKey: string, stock: StockSnapshot[]) => {
    const at = event.at;
    switch (event.type) {
      case 'RESERVE': {
        plan.reservations.push({ id: event.id, user_id: event.userId, order_id: event.orderId, created_at: event.createdAt, expires_at: event.expiresAt });
        if (event.binding) {
          const { keyHash, bodyDigest } = event.binding;
          plan.bindings.push({ user_id: event.userId, key_hash: keyHash, reservation_id: event.id, fingerprint: bodyDigest, created_at: event.createdAt });
        }
        event.items.forEach(([sku, qty, reserved, allocations], n) => {
          plan.items.push({ reservation_id: event.id, sku, line_no: n, qty, reserved, allocations });
          if (reserved > 0) holdMovements(`${eventKey}:${n}`, sku, 'RESERVE', { units: reserved, allocations }, at, { actor: event.userId, reservationId: event.id });
        });
        break;
      }
      case 'COMMIT':
      case 'RELEASE':
      case 'EXPIRE': {
        const ids = new Set(event.lines.map(([id]) => id));
        if (event.id) ids.add(event.id);
        for (const id of ids) plan.finishes.push({ id, status: FINISHED[event.type], at });
        event.lines.forEach(([id, sku, units], n) => holdMovements(`${eventKey}:${n}`, sku, event.type, decodeHoldUnits(units), at, { reservationId: id }));
        break;
      }
      case 'UNBIND':
        plan.unbinds.push(event.id);
        break;
      case 'EXTEND':
        // The last extension of a reservation in the batch is the one that counts.
        extensions.set(event.id, event.expiresAt);
        break;
      case 'SET': {
        const [, total, available, reserved, sold, version, epoch] = stock.find(([sku]) => sku === event.sku)!;
        settings.set(event.sku, {
          sku: event.sku,
          per_user_limit: event.perUserLimit ?? null,
          starts_at: event.startsAt ?? null,
          ends_at: event.endsAt ?? null,
          line_hold_ttl_ms: event.line?.holdTtlMs ?? null,
          line_lobby_ms: event.line?.lobbyMs ?? null,
          buckets: event.buckets ?? 1,
          total,
          available,
          reserved,
          sold,
          version,
          epoch,
        });
        if (!event.line) lineRemovals.set(event.sku, at);
        const extra = { reason: `total set to ${total}`, actor: event.actor };
        if (!event.locations) movement(`${eventKey}:0`, event.sku, 'SET', event.delta, at, extra);
        else for (const [location, delta] of event.locations) movement(`${eventKey}:0@${location}`, event.sku, 'SET', delta, at, { ...extra, location });
        break;
      }
      case 'ADJUST':
        movement(`${eventKey}:0`, event.sku, 'ADJUST', event.delta, at, { reason: event.reason, actor: event.actor, location: event.location });
        break;
      case 'MOVE': {
        const out = event.delta < 0;
        movement(`${eventKey}:0`, event.sku, 'MOVE', event.delta, at, { reason: out ? `moved to ${event.peer}` : `moved from ${event.peer}`, actor: MOVE_ACTOR, location: event.location });
        // Both halves may come in one batch (their buckets in one partition): one row per move.
        const half = bucketMoves.get(event.move);
        bucketMoves.set(event.move, {
          id: event.move,
          from_sku: out ? event.sku : event.peer,
          to_sku: out ? event.peer : event.sku,
          qty: Math.abs(event.delta),
          // The source's location: the target may have taken the units elsewhere (lua/bucket_move_in.lua).
          location: out ? (event.location ?? null) : (half?.location ?? null),
          out_at: out ? at : (half?.out_at ?? null),
          in_at: out ? (half?.in_at ?? null) : at,
        });
        break;
      }
      case 'JOIN':
      case 'ADMIT':
      case 'LEAVE':
      case 'SOLD_OUT':
      case 'CLOSE': {
        // The same rule as the statement's: only a WAITING ticket moves on.
        const row = ticketRow(event);
        const known = tickets.get(row.id);
        if (!known || (known.status === 'WAITING' && row.status !== 'WAITING')) tickets.set(row.id, row);
        break;
      }
    }
  };

  for (const { eventKeyPrefix, events, stock } of entries) {
    events.forEach((event, e) => planEvent(event, `${eventKeyPrefix}:${e}`, stock));
    for (const snapshot of stock) {
      const known = latest.get(snapshot[0]);
      if (!known || isNewer(markOf(snapshot), markOf(known))) latest.set(snapshot[0], snapshot);
    }
  }
  for (const [sku, total, available, reserved, sold, version, epoch, rows] of latest.values()) {
    plan.snapshots.push({ sku, total, available, reserved, sold, version, epoch });
    const levels = rows ? levelsOfRows(rows) : [defaultLevel({ total, available, reserved, sold })];
    levels.forEach((level, position) => plan.levels.push({ sku, ...level, position, version, epoch }));
  }
  for (const [id, expiresAt] of extensions) plan.extensions.push({ id, expires_at: expiresAt });
  plan.skuSettings = [...settings.values()];
  plan.bucketMoves = [...bucketMoves.values()];
  plan.tickets = [...tickets.values()];
  plan.lineRemovals = [...lineRemovals].map(([sku, at]) => ({ sku, at }));
  return plan;
}

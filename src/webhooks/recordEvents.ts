import { createHash } from 'node:crypto';
import type { Database } from '../db/client';
import type { LineTicketRow } from '../db/lineTicketRepository';
import { findReservations } from '../db/reservationRepository';
import { type SkuSnapshotRow, type StockLevelRow, sumSplitLevels, sumSplitSkus } from '../db/skuRepository';
import { parseBucketSku } from '../domain/buckets';
import { type WebhookEventRow, insertEventsWithDeliveries, listenedEventTypes, saveStockStates } from '../db/webhookRepository';
import type { FinalStatus } from '../domain/reservation';
import type { WebhookEventType } from '../domain/webhooks';

/** What one drained batch changed in Postgres, as the statements that changed it reported. */
export interface RecordedFacts {
  /** Reservations this batch inserted. */
  created: string[];
  /** Reservations this batch moved out of PENDING, with the Redis time it happened. */
  finished: { id: string; status: FinalStatus; atMs: number }[];
  /** The newest counters of each SKU in the batch, and its locations at that version. */
  snapshots: SkuSnapshotRow[];
  levels: StockLevelRow[];
  /** Each ticket of the batch once, in the latest state the batch gave it (the rows line_tickets takes). */
  tickets: LineTicketRow[];
}

const FINISHED_TYPE: Record<FinalStatus, WebhookEventType> = {
  COMMITTED: 'reservation.committed',
  RELEASED: 'reservation.released',
  EXPIRED: 'reservation.expired',
};

/** The ticket states a webhook tells of: a ticket reaches each at most once, and never both. */
const TICKET_TYPE: Partial<Record<LineTicketRow['status'], WebhookEventType>> = {
  ADMITTED: 'line.admitted',
  SOLD_OUT: 'line.sold_out',
};

/**
 * An event's id, from the fact it reports: a reservation or a ticket reaches each state once, a
 * SKU's counters have one value per epoch and version (the version alone in epoch 0, as before
 * epochs). Recording the same batch again yields the same ids.
 */
const eventId = (type: WebhookEventType, subject: string, version = '') =>
  `evt_${createHash('sha256').update(`${type}\n${subject}\n${version}`).digest('hex').slice(0, 32)}`;

/** Runs in a transaction of the drain. */
type Executor = Pick<Database, 'execute' | 'select' | 'selectDistinct'>;

/**
 * Records the webhook events of a drained batch, in the batch's own transaction, with one
 * delivery per endpoint listening to each: an event exists exactly when Postgres holds its fact.
 * Nothing is recorded for a type no endpoint listens to.
 */
export async function recordWebhookEvents(tx: Executor, facts: RecordedFacts): Promise<void> {
  const listened = await listenedEventTypes(tx);
  if (!listened.size) return;
  const events = [...(await reservationEvents(tx, facts, listened)), ...(await stockEvents(tx, facts, listened)), ...lineEvents(facts, listened)];
  if (!events.length) return;
  await insertEventsWithDeliveries(tx, events);
}

/** Created first, then ended: a reservation made and ended in one batch is told in that order. */
async function reservationEvents(tx: Executor, facts: RecordedFacts, listened: Set<WebhookEventType>): Promise<WebhookEventRow[]> {
  const created = listened.has('reservation.created') ? facts.created : [];
  const finished = facts.finished.filter(({ status }) => listened.has(FINISHED_TYPE[status]));
  if (!created.length && !finished.length) return [];
  const views = await findReservations(tx, [...new Set([...created, ...finished.map(({ id }) => id)])]);
  const events: WebhookEventRow[] = [];
  for (const id of created) {
    const view = views.get(id);
    const type = 'reservation.created';
    if (view) events.push({ id: eventId(type, id), type, subject: id, at: Date.parse(view.createdAt), data: { ...view, status: 'PENDING' } });
  }
  for (const { id, status, atMs } of finished) {
    const view = views.get(id);
    const type = FINISHED_TYPE[status];
    if (view) events.push({ id: eventId(type, id), type, subject: id, at: atMs, data: { ...view, status } });
  }
  return events;
}

/**
 * stock.changed for every SKU whose counters moved past the last ones recorded, and
 * stock.sold_out / stock.back_in_stock when its available crossed zero since then.
 */
async function stockEvents(tx: Executor, facts: RecordedFacts, listened: Set<WebhookEventType>): Promise<WebhookEventRow[]> {
  if (!facts.snapshots.length || ![...listened].some((type) => type.startsWith('stock.'))) return [];
  const { snapshots, levels } = await asTheirSkus(tx, facts);
  const moved = await saveStockStates(tx, snapshots.map(({ sku, available, version, epoch }) => ({ sku, available, version, epoch })));
  const now = Date.now();
  const events: WebhookEventRow[] = [];
  for (const { sku, previous } of moved) {
    const snapshot = snapshots.find((row) => row.sku === sku)!;
    const { total, available, reserved, sold, version, epoch } = snapshot;
    const mark = epoch ? `${epoch}/${version}` : String(version);
    const locations = levels
      .filter((level) => level.sku === sku)
      .map(({ location, active, total, available, reserved, sold }) => ({ location, active, total, available, reserved, sold }));
    const data = { sku, total, available, reserved, sold, locations };
    const types: WebhookEventType[] = ['stock.changed'];
    if (previous !== null && Number(previous) > 0 && available === 0) types.push('stock.sold_out');
    if (previous !== null && Number(previous) === 0 && available > 0) types.push('stock.back_in_stock');
    for (const type of types) if (listened.has(type)) events.push({ id: eventId(type, sku, mark), type, subject: sku, at: now, data });
  }
  return events;
}

/**
 * The batch's counters as their SKUs' own: a split SKU's buckets (src/domain/buckets.ts) become
 * the SKU, its counters and each location's their sums as Postgres now holds them. A
 * bucket of a SKU whose own row is not there yet (a PUT writes the other buckets first) tells
 * nothing until it is.
 */
async function asTheirSkus(tx: Executor, facts: RecordedFacts): Promise<Pick<RecordedFacts, 'snapshots' | 'levels'>> {
  const isBucket = (sku: string) => parseBucketSku(sku).bucket > 0;
  const names = [...new Set(facts.snapshots.map(({ sku }) => parseBucketSku(sku).sku))];
  const split = await sumSplitSkus(tx, names);
  if (!split.length && !facts.snapshots.some(({ sku }) => isBucket(sku))) return facts;
  const ofSplit = new Set(split.map(({ sku }) => sku));
  const own = (sku: string) => !isBucket(sku) && !ofSplit.has(sku);
  return {
    snapshots: [...facts.snapshots.filter(({ sku }) => own(sku)), ...split],
    levels: [
      ...facts.levels.filter(({ sku }) => own(sku)),
      ...(await sumSplitLevels(tx, names)).map((level) => {
        const { version, epoch } = split.find((row) => row.sku === level.sku)!;
        return { ...level, version, epoch };
      }),
    ],
  };
}

/**
 * line.admitted and line.sold_out for the tickets the batch admitted or ended sold out. The
 * subject is the ticket's id, which its admitted hold shares: a receiver is told the hold's
 * reservation.created first, then line.admitted, then how the hold ended.
 */
function lineEvents(facts: RecordedFacts, listened: Set<WebhookEventType>): WebhookEventRow[] {
  const events: WebhookEventRow[] = [];
  for (const ticket of facts.tickets) {
    const type = TICKET_TYPE[ticket.status];
    if (!type || !listened.has(type)) continue;
    const { id, sku, user_id: userId, qty, order_id: orderId, status, joined_at: joinedAt, at } = ticket;
    const admitted = status === 'ADMITTED';
    const data = {
      id,
      sku,
      userId,
      qty,
      orderId,
      status,
      // An admitted ticket's hold is a reservation with the ticket's id.
      reservationId: admitted ? id : null,
      joinedAt: new Date(joinedAt).toISOString(),
      admittedAt: admitted ? new Date(at).toISOString() : null,
      endedAt: admitted ? null : new Date(at).toISOString(),
    };
    events.push({ id: eventId(type, id), type, subject: id, at, data });
  }
  return events;
}

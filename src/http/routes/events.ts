import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import { DomainError } from '../../domain/errors';
import { MAX_WATCHED_TICKETS, type Ticket, parseTicketList } from '../../domain/line';
import { skusNotFound, ticketsNotFound } from '../../domain/refusals';
import { MAX_WATCHED_SKUS, parseSkuList } from '../../domain/sku';
import { type StockEvent, StockEvents } from '../../events/stockEvents';
import { TicketEvents } from '../../events/ticketEvents';
import type { AppDeps } from '../deps';
import { EVENT_STREAM_HEADERS, PING_TEXT, eventText } from '../eventStream';
import { errors } from '../schemas';

const PING_INTERVAL_MS = 15_000;
/**
 * Bytes a stream may have waiting for a client that does not read: past this, the stream is
 * closed (the client reconnects and starts from current views), so a slow reader never grows
 * the engine's memory.
 */
const MAX_UNSENT_BYTES = 256 * 1024;

const eventsQuery = {
  type: 'object',
  additionalProperties: false,
  description: 'skus, tickets, or both',
  properties: {
    skus: { type: 'string', minLength: 1, description: `Comma-separated SKUs, at most ${MAX_WATCHED_SKUS}` },
    tickets: { type: 'string', minLength: 1, description: `Comma-separated ticket ids of waiting lines, at most ${MAX_WATCHED_TICKETS}` },
  },
} as const;

/** What a stream was asked for, checked: at least one SKU or ticket. */
function streamSubjects(query: { skus?: string; tickets?: string }): { skus: string[]; tickets: string[] } {
  if (query.skus === undefined && query.tickets === undefined) {
    throw new DomainError('VALIDATION_FAILED', 'querystring must name skus, tickets, or both', { in: 'querystring', required: ['skus', 'tickets'] });
  }
  return { skus: query.skus === undefined ? [] : parseSkuList(query.skus), tickets: query.tickets === undefined ? [] : parseTicketList(query.tickets) };
}

const eventRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: AppDeps }> = async (app, { engine, lineTickets, metrics }) => {
  const events = new StockEvents({ readVersions: (skus) => engine.getSkuVersions(skus), readStates: (skus) => engine.getSkuStates(skus) });
  const ticketEvents = new TicketEvents(events, (id) => lineTickets.read(id));
  const open = new Set<ServerResponse>();
  metrics.eventStreamCounts = () => ({ streams: open.size, watchedSkus: events.watchedSkus, watchedTickets: ticketEvents.watchedTickets });
  // Every stream watching a SKU is handed the same event: its text is made once, not once per stream.
  const texts = new WeakMap<StockEvent, string>();
  const textOf = (event: StockEvent) => {
    let text = texts.get(event);
    if (text === undefined) texts.set(event, (text = eventText(event.name, event.view)));
    return text;
  };
  // Streams never end by themselves: shutdown ends them so the server can close.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
    ticketEvents.close();
    events.close();
  });

  app.get(
    '/v1/events',
    {
      schema: {
        summary: `Server-Sent Events: each SKU's view now, then after every change (at most 10 per second per SKU), "sold_out" / "back_in_stock" when that happens; each ticket now, then when where it stands changes (at most once a second), and when it is admitted or ends; a ping every 15 s`,
        tags: ['skus', 'lines'],
        querystring: eventsQuery,
        response: {
          200: {
            description:
              'text/event-stream: events "stock", "sold_out", "back_in_stock", data the SKU view; events "ticket", data the ticket as GET /v1/line-tickets/:id answers it',
            type: 'string',
          },
          ...errors(400, 401, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const { skus, tickets } = streamSubjects(request.query);
      const res = reply.raw;
      // Listened for before anything is awaited (and checked, for a client gone even earlier): a
      // client that leaves while its first views are read must leave no watcher behind.
      const left = new AbortController();
      res.once('close', () => left.abort());
      if (res.destroyed || request.raw.socket.destroyed) left.abort();
      // Events come from timers, never before the stream is open.
      let streaming = false;
      const write = (text: string) => {
        if (!streaming || res.destroyed || res.writableEnded) return;
        res.write(text);
        if (res.writableLength > MAX_UNSENT_BYTES) res.destroy();
      };
      const watched = await watchAll(skus, tickets, write, left.signal);
      if ('abandoned' in watched) {
        if (!left.signal.aborted) {
          // The engine is stopping: the connection goes too, or it would hold the stop up.
          reply.header('connection', 'close');
          throw new DomainError('UNAVAILABLE', 'The engine is stopping; reconnect shortly.');
        }
        // The client is gone: there is nobody to answer.
        reply.hijack();
        res.destroy();
        return;
      }
      if ('error' in watched) throw watched.error;

      reply.hijack();
      res.writeHead(200, EVENT_STREAM_HEADERS);
      streaming = true;
      open.add(res);
      const ping = setInterval(() => write(PING_TEXT), PING_INTERVAL_MS);
      const end = () => {
        clearInterval(ping);
        watched.stop();
        open.delete(res);
      };
      if (left.signal.aborted) end();
      else left.signal.addEventListener('abort', end, { once: true });
      // A write that fails ends the stream the way a client leaving does.
      res.on('error', () => res.destroy());
      for (const view of watched.views) write(eventText('stock', view));
      for (const ticket of watched.tickets) write(ticketText(ticket));
    },
  );

  const ticketText = (ticket: Ticket) => {
    // A ticket told ADMITTED here is timed like one a read answers.
    metrics.ticketAnswered(ticket);
    return eventText('ticket', ticket);
  };

  /**
   * Watches the SKUs, then the tickets: both, or neither (a refusal, or a client gone meanwhile,
   * stops the half already watched). `stop` ends both.
   */
  async function watchAll(skus: string[], tickets: string[], write: (text: string) => void, signal: AbortSignal) {
    const none = { views: [], stop: () => {} };
    const stock = skus.length ? await events.watch(skus, (event) => write(textOf(event)), signal) : none;
    if ('abandoned' in stock) return stock;
    if ('missing' in stock) return { error: skusNotFound(stock.missing) };
    const ticketWatch = tickets.length ? await ticketEvents.watch(tickets, (ticket) => write(ticketText(ticket)), signal) : { tickets: [], stop: () => {} };
    if (!('tickets' in ticketWatch)) stock.stop();
    if ('abandoned' in ticketWatch) return ticketWatch;
    if ('missing' in ticketWatch) return { error: ticketsNotFound(ticketWatch.missing) };
    return {
      views: stock.views,
      tickets: ticketWatch.tickets,
      stop: () => {
        stock.stop();
        ticketWatch.stop();
      },
    };
  }
};

export default eventRoutes;

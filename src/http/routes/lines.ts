import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import { ticketNotFound } from '../../domain/refusals';
import type { AppDeps } from '../deps';
import { sendRefusal } from '../errorHandler';
import { errors, idempotencyHeaders, joinLineBody, skuParams, ticketParams, ticketView } from '../schemas';

/** Waiting lines (docs/api.md#waiting-lines-fair-queues-for-hot-skus): join, read, leave. */
const lineRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: AppDeps }> = async (app, { lineTickets, metrics }) => {
  app.post(
    '/v1/skus/:sku/line',
    {
      schema: {
        summary: 'Join the SKU\'s waiting line: 202 a new ticket, 200 the ticket the user has (one per user and SKU)',
        tags: ['lines'],
        params: skuParams,
        headers: idempotencyHeaders,
        body: joinLineBody,
        response: { 200: ticketView, 202: ticketView, ...errors(400, 401, 404, 409, 503) },
      },
      // Every answer, refusals included, is counted by outcome in one place.
      onResponse: async (request, reply) => metrics.lineJoinAnswered(reply.statusCode, reply.outcome),
    },
    async (request, reply) => {
      const { userId, qty, orderId } = request.body;
      // A line seen sold out for good is answered here: in a sale most joins are such refusals.
      const refused = lineTickets.knownRefusal(request.params.sku, userId, qty);
      if (refused) return sendRefusal(reply, refused);
      const { ticket, changed } = await lineTickets.join(request.params.sku, userId, qty, orderId ?? null);
      metrics.ticketAnswered(ticket);
      return reply.code(changed ? 202 : 200).send(ticket);
    },
  );

  app.get(
    '/v1/line-tickets/:id',
    {
      schema: {
        summary: 'Read a ticket: where it stands (position, units ahead and left), or how it ended',
        tags: ['lines'],
        params: ticketParams,
        response: { 200: ticketView, ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const ticket = await lineTickets.read(request.params.id);
      if (!ticket) throw ticketNotFound(request.params.id);
      metrics.ticketAnswered(ticket);
      return ticket;
    },
  );

  app.delete(
    '/v1/line-tickets/:id',
    {
      schema: {
        summary: 'Leave the line (LEFT); an admitted ticket keeps its reservation, to be released as usual',
        tags: ['lines'],
        params: ticketParams,
        response: { 200: ticketView, ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const { ticket } = await lineTickets.leave(request.params.id);
      metrics.ticketAnswered(ticket);
      return ticket;
    },
  );
};

export default lineRoutes;

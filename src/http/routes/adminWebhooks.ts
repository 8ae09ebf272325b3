import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import { deleteEndpoint, findEndpoint, listDeliveries, listEndpoints, saveEndpoint } from '../../db/webhookRepository';
import { webhookNotFound, webhookSecretRequired, webhookUrlInvalid } from '../../domain/refusals';
import { NonPublicAddress, publicAddressesOf } from '../../webhooks/destination';
import type { AppDeps } from '../deps';
import { deliveriesResponse, errors, limitQuery, putWebhookBody, webhookEndpointView, webhookList, webhookParams } from '../schemas';

/** Longest wait for DNS at registration; past it the URL is taken, as when DNS has no answer. */
const REGISTRATION_LOOKUP_MS = 5000;

/** A URL the dispatcher can POST to: absolute http(s), no user:password (secrets go in `secret`). */
function checkUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw webhookUrlInvalid('not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw webhookUrlInvalid('only http and https are sent to');
  if (url.username || url.password) throw webhookUrlInvalid('credentials in the URL would be stored and shown; use the secret');
  return url;
}

/**
 * Refuses a URL whose host is or resolves to a non-public address. A host DNS cannot answer for
 * now is taken: nothing is sent through it, and each delivery checks again before it connects.
 */
async function checkPublic(url: URL): Promise<void> {
  try {
    await publicAddressesOf(url, AbortSignal.timeout(REGISTRATION_LOOKUP_MS));
  } catch (error) {
    if (error instanceof NonPublicAddress) {
      throw webhookUrlInvalid(`${error.message}; webhooks are sent only to public addresses unless WEBHOOK_ALLOW_PRIVATE is on`);
    }
  }
}

const adminWebhookRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: AppDeps }> = async (app, { db, config }) => {
  app.put(
    '/v1/admin/webhooks/:id',
    {
      schema: {
        summary: 'Create (201) or replace (200) a webhook endpoint: where to POST which events, and the secret that signs them',
        description:
          'A URL whose host is, or resolves to, a loopback, private, link-local, multicast or otherwise non-public address (in any spelling) ' +
          'is refused with 400 VALIDATION_FAILED, and checked again at each delivery, unless the engine runs with WEBHOOK_ALLOW_PRIVATE on.',
        tags: ['webhooks'],
        security: [{ bearer: [] }],
        params: webhookParams,
        body: putWebhookBody,
        response: { 200: webhookEndpointView, 201: webhookEndpointView, ...errors(400, 401, 503) },
      },
    },
    async (request, reply) => {
      const { url, events, secret } = request.body;
      const parsed = checkUrl(url);
      if (!config.webhookAllowPrivate) await checkPublic(parsed);
      const saved = await saveEndpoint(db, { id: request.params.id, url, events, secret });
      if (!saved) throw webhookSecretRequired();
      return reply.code(saved.created ? 201 : 200).send(saved.endpoint);
    },
  );

  app.get(
    '/v1/admin/webhooks',
    {
      schema: {
        summary: 'Every webhook endpoint (never their secrets)',
        tags: ['webhooks'],
        security: [{ bearer: [] }],
        response: { 200: webhookList, ...errors(401, 503) },
      },
    },
    async () => ({ items: await listEndpoints(db) }),
  );

  app.delete(
    '/v1/admin/webhooks/:id',
    {
      schema: {
        summary: 'Delete a webhook endpoint; its pending deliveries are dropped',
        tags: ['webhooks'],
        security: [{ bearer: [] }],
        params: webhookParams,
        response: { 204: { description: 'Deleted', type: 'null' }, ...errors(400, 401, 404, 503) },
      },
    },
    async (request, reply) => {
      if (!(await deleteEndpoint(db, request.params.id))) throw webhookNotFound(request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/admin/webhooks/:id/deliveries',
    {
      schema: {
        summary: "An endpoint's latest deliveries, newest event first, with every attempt's status and time",
        tags: ['webhooks'],
        security: [{ bearer: [] }],
        params: webhookParams,
        querystring: limitQuery(500, 50),
        response: { 200: deliveriesResponse, ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await findEndpoint(db, id))) throw webhookNotFound(id);
      return { items: await listDeliveries(db, id, request.query.limit) };
    },
  );
};

export default adminWebhookRoutes;

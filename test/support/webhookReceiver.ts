import http, { type IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** One POST a receiver got: the raw body (what a signature covers) and its parsed event. */
export interface Received {
  headers: IncomingHttpHeaders;
  rawBody: string;
  event: { id: string; type: string; createdAt: string; data: any };
}

/** How to answer a delivery: an HTTP status, or 'hang' (never answer). */
export type Answer = number | 'hang';

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** Connections opened to it, whether or not a request followed. */
  connections(): number;
  /** Waits until `done(received)` holds, or fails after `timeoutMs` saying what arrived. */
  waitFor(done: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A webhook receiver on loopback that records every delivery and answers as `answer` says. */
export async function startReceiver(answer: (received: Received, earlier: Received[]) => Answer = () => 200): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    let rawBody = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => (rawBody += chunk));
    request.on('end', () => {
      const delivery: Received = { headers: request.headers, rawBody, event: JSON.parse(rawBody) };
      const status = answer(delivery, [...received]);
      received.push(delivery);
      if (status !== 'hang') response.writeHead(status).end();
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    connections: () => connections,
    async waitFor(done, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(received)) {
        if (Date.now() > deadline) throw new Error(`webhooks not received in time; got: ${received.map((r) => `${r.event.type} ${r.event.id}`).join(', ')}`);
        await sleep(25);
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

import { expect } from 'vitest';

/** A server-sent event as a test client received it. */
export interface ServerEvent {
  name: string;
  data: any;
  at: number;
}

/** An open stream: the events received so far, and the way to close it. */
export interface Stream {
  events: ServerEvent[];
  /** Resolves once `count` events have arrived (or rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ServerEvent[]>;
  /** Resolves once an event `found` accepts has arrived (or rejects after `timeoutMs`). */
  waitUntil(found: (event: ServerEvent) => boolean, timeoutMs?: number): Promise<ServerEvent>;
  ended: Promise<void>;
  close(): void;
}

/** Opens GET /v1/events?<query> over fetch and collects its events as they arrive. */
export async function openStream(baseUrl: string, query: string): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/v1/events?${query}`, { signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: ServerEvent[] = [];
  const waiters: (() => void)[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const ended = (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name && data) events.push({ name, data: JSON.parse(data), at: Date.now() });
        }
        waiters.splice(0).forEach((wake) => wake());
      }
    } catch {
      // aborted by close()
    }
    waiters.splice(0).forEach((wake) => wake());
  })();
  const until = async (done: () => boolean, what: () => string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`waited for ${what()}: ${JSON.stringify(events.map((e) => [e.name, e.data.available ?? e.data.status]))}`);
      await Promise.race([new Promise<void>((wake) => waiters.push(wake)), new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  };
  return {
    events,
    ended,
    close: () => controller.abort(),
    async waitFor(count, timeoutMs = 5000) {
      await until(() => events.length >= count, () => `${count} events, got ${events.length}`, timeoutMs);
      return events;
    },
    async waitUntil(found, timeoutMs = 5000) {
      await until(() => events.some(found), () => 'an event', timeoutMs);
      return events.find(found)!;
    },
  };
}

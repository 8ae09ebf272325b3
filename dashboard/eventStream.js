// Follows /v1/events for a set of SKUs. EventSource cannot send an Authorization header, and the
// stream needs one when the engine sets API_TOKEN, so this reads the stream with fetch() and
// parses Server-Sent Events itself. It reconnects by itself; the engine sends every SKU's current
// view on connect, so nothing is missed across a reconnect.
import { authHeaders, reach } from './engineApi.js';

const RECONNECT_MS = 1_000;

/** Splits SSE text into events; returns the parsed events and the unfinished tail. */
export function parseEvents(text) {
  const blocks = text.split('\n\n');
  const rest = blocks.pop();
  const events = [];
  for (const block of blocks) {
    let name = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) name = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length > 0) events.push({ name, data: data.join('\n') });
  }
  return { events, rest };
}

/**
 * Streams the views of `skus` to `onView(view, eventName)` until stop() is called. `onTrouble`
 * hears of a failed connection (the caller decides whether the engine is down).
 */
export function followSkus(skus, { onView, onTrouble }) {
  const controller = new AbortController();
  let stopped = false;

  async function readOnce() {
    const query = encodeURIComponent(skus.join(','));
    const response = await reach(`/v1/events?skus=${query}`, { headers: authHeaders(), signal: controller.signal });
    if (!response.ok) throw new Error(`/v1/events answered ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let pending = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const { events, rest } = parseEvents(pending + value);
      pending = rest;
      for (const event of events) onView(JSON.parse(event.data), event.name);
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await readOnce();
      } catch (error) {
        if (stopped) return;
        onTrouble(error);
      }
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  })();

  return {
    stop() {
      stopped = true;
      controller.abort();
    },
  };
}

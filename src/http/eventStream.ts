/**
 * The text/event-stream format (the HTML Living Standard, "Server-sent events") as the engine
 * writes it: one place for its lines.
 */

/** One event: its name, and its data as one line of JSON (JSON text never holds a raw newline). */
export function eventText(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: keeps proxies and clients from timing the stream out. */
export const PING_TEXT = ': ping\n\n';

export const EVENT_STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Proxies such as nginx would otherwise buffer the stream.
  'x-accel-buffering': 'no',
} as const;

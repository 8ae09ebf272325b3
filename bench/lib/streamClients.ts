/**
 * A process of its own holding many Server-Sent Events streams against an engine, so that their
 * reading and parsing never takes CPU from the load generator. Driven over IPC by
 * bench/lib/streams.ts: open, measure, report, close.
 *
 * Delay is measured end to end with a probe: every PROBE_INTERVAL_MS this process adjusts the
 * SKU `probe` by +1 and notes when; every hot stream watches `probe` too, and the delay of a
 * probe event is the time from that adjust request to the event's arrival on the stream.
 */
import http from 'node:http';

export type Command =
  | { kind: 'open'; url: string; adminToken: string; idle: { count: number; skus: string[] }; hot: { count: number; sku: string } }
  | { kind: 'measure' }
  | { kind: 'report' }
  | { kind: 'close' };

export interface StreamsReport {
  /** Streams open when the report was taken, and streams that ended during the measurement. */
  open: number;
  ended: number;
  seconds: number;
  /** Events received on every stream (pings excluded). */
  events: number;
  /** Probe events received, and the delay of each from its adjust request, in ms. */
  probes: number;
  probeAdjusts: number;
  delayMs: { p50: number; p99: number; max: number };
  /** The smallest share of the probe values written that any one hot stream received (coalescing may merge two). */
  probeCoverage: number;
}

export type Reply = { kind: 'opened'; open: number } | { kind: 'report'; report: StreamsReport } | { kind: 'closed' } | { kind: 'error'; message: string };

export const PROBE_SKU = 'probe';
const PROBE_INTERVAL_MS = 200;
/** Streams opened at once: the engine's accept queue, not this process, is the limit. */
const OPENING_AT_ONCE = 200;

const send = (reply: Reply) => process.send!(reply);

const sockets = new Set<http.ClientRequest>();
let events = 0;
let ended = 0;
let measuring = false;
let measureStart = 0;
const delays: number[] = [];
/** Probe totals written while measuring, by value, with the time of the request. */
const probeSentAt = new Map<number, number>();
/** Per hot stream: the probe totals it saw while measuring. */
const seenByHotStream: Set<number>[] = [];
let probeTimer: NodeJS.Timeout | undefined;
let base = '';
let token = '';

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;
}

/** Opens one stream; resolves once its first bytes (the current views) arrived. */
function openStream(skus: string, hotIndex: number | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${base}/v1/events?skus=${skus}`, { agent: false }, (response) => {
      if (response.statusCode !== 200) return reject(new Error(`stream answered ${response.statusCode}`));
      response.setEncoding('utf8');
      let buffered = '';
      let first = true;
      response.on('data', (chunk: string) => {
        if (first) {
          first = false;
          resolve();
        }
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (block.startsWith(':')) continue;
          if (measuring) events += 1;
          if (hotIndex !== null && measuring && block.includes(`"sku":"${PROBE_SKU}"`)) {
            const total = JSON.parse(block.slice(block.indexOf('data: ') + 6)).total as number;
            const sentAt = probeSentAt.get(total);
            if (sentAt !== undefined && !seenByHotStream[hotIndex].has(total)) {
              seenByHotStream[hotIndex].add(total);
              delays.push(Date.now() - sentAt);
            }
          }
        }
      });
      response.on('close', () => {
        sockets.delete(request);
        if (measuring) ended += 1;
      });
    });
    request.on('error', reject);
    sockets.add(request);
  });
}

async function adjustProbe(): Promise<void> {
  const sentAt = Date.now();
  const response = await fetch(`${base}/v1/admin/skus/${PROBE_SKU}/adjust`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ delta: 1, reason: 'bench probe' }),
  });
  const view = (await response.json()) as { total: number };
  // The total this adjust produced names the probe event it causes.
  if (measuring) probeSentAt.set(view.total, sentAt);
}

async function open(command: Extract<Command, { kind: 'open' }>): Promise<void> {
  base = command.url;
  token = command.adminToken;
  const plans: (() => Promise<void>)[] = [];
  for (let n = 0; n < command.idle.count; n++) plans.push(() => openStream(command.idle.skus[n % command.idle.skus.length], null));
  for (let n = 0; n < command.hot.count; n++) {
    seenByHotStream.push(new Set());
    plans.push(() => openStream(`${command.hot.sku},${PROBE_SKU}`, n));
  }
  for (let at = 0; at < plans.length; at += OPENING_AT_ONCE) await Promise.all(plans.slice(at, at + OPENING_AT_ONCE).map((plan) => plan()));
  send({ kind: 'opened', open: sockets.size });
}

function report(): StreamsReport {
  measuring = false;
  clearInterval(probeTimer);
  const sorted = [...delays].sort((a, b) => a - b);
  const written = new Set(probeSentAt.keys());
  return {
    open: sockets.size,
    ended,
    seconds: (Date.now() - measureStart) / 1000,
    events,
    probes: delays.length,
    probeAdjusts: written.size,
    delayMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
    probeCoverage: written.size && seenByHotStream.length ? Math.min(...seenByHotStream.map((seen) => seen.size)) / written.size : 0,
  };
}

process.on('message', (command: Command) => {
  const run = async () => {
    switch (command.kind) {
      case 'open':
        return open(command);
      case 'measure':
        events = ended = 0;
        delays.length = 0;
        probeSentAt.clear();
        for (const seen of seenByHotStream) seen.clear();
        measuring = true;
        measureStart = Date.now();
        probeTimer = setInterval(() => void adjustProbe().catch(() => {}), PROBE_INTERVAL_MS);
        return;
      case 'report':
        return send({ kind: 'report', report: report() });
      case 'close':
        for (const request of sockets) request.destroy();
        return send({ kind: 'closed' });
    }
  };
  run().catch((error: Error) => send({ kind: 'error', message: error.message }));
});

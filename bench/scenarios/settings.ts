/** Load settings shared by the scenarios; --quick shortens every run. */
export function durations(quick: boolean) {
  return {
    /** Seconds of each throughput run. */
    seconds: quick ? 1.5 : 10,
    /** Seconds of warm-up before a measured run (JIT, connection pools). */
    warmup: quick ? 0.5 : 3,
  };
}

export const CONNECTIONS = 100;
export const JSON_HEADERS = { 'content-type': 'application/json' };
export const RESERVE_BODY = JSON.stringify({ userId: 'u-1', orderId: 'o-1', items: [{ sku: 'hot', qty: 1 }] });

// A waiting line's pace, from the successive views of its SKU: tickets admitted per second over
// the last half minute, and the wait a shopper who joins now faces (the tickets waiting ahead of
// them, divided by that pace). Views arrive only when something changed, so the pace is worked
// out at the moment it is shown: a line that stopped moving reads 0 once the window has passed.

/** How far back the pace looks. */
export const WINDOW_MS = 30_000;
/** A pace needs this much time watched: less, and one admission would read as a rush. */
const MIN_WATCHED_MS = 1_000;

export class LineRate {
  constructor(windowMs = WINDOW_MS) {
    this.windowMs = windowMs;
    this.samples = []; // [at, admitted], oldest first
  }

  /** The line's admitted count as a view at `at` showed it. */
  add(at, admitted) {
    const last = this.samples.at(-1);
    // A count that went down belongs to a line set again: its pace starts afresh.
    if (last && admitted < last[1]) this.samples = [];
    else if (last && admitted === last[1]) return;
    this.samples.push([at, admitted]);
    // Only one sample from before the window is needed: the count it held when the window began.
    while (this.samples.length > 1 && this.samples[1][0] <= at - this.windowMs) this.samples.shift();
  }

  /** Tickets admitted per second over the window ending `now`; null until enough was watched. */
  perSecond(now) {
    if (!this.samples.length) return null;
    const start = now - this.windowMs;
    let base = this.samples[0];
    for (const sample of this.samples) if (sample[0] <= start) base = sample;
    const from = Math.max(start, this.samples[0][0]);
    if (now - from < MIN_WATCHED_MS) return null;
    return (this.samples.at(-1)[1] - base[1]) / ((now - from) / 1000);
  }
}

/**
 * The wait a new joiner faces, as a person reads it: "none" when nobody waits, "–" while the pace
 * is not known yet, "stalled" when the line did not move in the window, else "~45 s", "~12 min",
 * "~2 h 5 min" (the tickets waiting ahead divided by the pace).
 */
export function formatWait(waiting, perSecond) {
  if (waiting === 0) return 'none';
  if (perSecond === null) return '–';
  if (perSecond === 0) return 'stalled';
  const seconds = waiting / perSecond;
  if (seconds < 90) return `~${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `~${minutes} min`;
  return `~${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A pace as shown: one decimal below 10 per second. */
export function formatRate(perSecond) {
  if (perSecond === null) return '–';
  return perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond).toLocaleString('en');
}

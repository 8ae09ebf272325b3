// Reads the reserve figures out of the engine's Prometheus text: outcomes per second and the
// latency p99, both from the difference between two scrapes (what Prometheus's rate() and
// histogram_quantile() would say over that window).

/** The charts: which outcome labels of flashsale_reservations_total each one adds up. */
export const OUTCOME_SERIES = [
  { key: 'created', title: 'Held', labels: ['created', 'partial'] },
  { key: 'soldOut', title: 'Sold out', labels: ['insufficient_stock'] },
  { key: 'limit', title: 'Over the limit', labels: ['limit_exceeded'] },
  { key: 'unavailable', title: 'Unavailable', labels: ['unavailable'] },
];

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of the named metrics, each { name, labels, value }. */
export function parseSamples(text, names) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match || !names.has(match[1])) continue;
    const labels = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

const OUTCOMES = 'flashsale_reservations_total';
const BUCKETS = 'flashsale_reserve_duration_seconds_bucket';

/** One scrape, reduced to what the charts need: counts by outcome label and cumulative buckets. */
export function readScrape(text, at) {
  const outcomes = {};
  const buckets = new Map();
  for (const { name, labels, value } of parseSamples(text, new Set([OUTCOMES, BUCKETS]))) {
    if (name === OUTCOMES) outcomes[labels.outcome] = (outcomes[labels.outcome] ?? 0) + value;
    else {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + value);
    }
  }
  return { at, outcomes, buckets: [...buckets].sort((a, b) => a[0] - b[0]) };
}

// A counter that went down was reset (an engine restarted): its whole value is the increase.
const increase = (now, before) => (now >= before ? now - before : now);

/** The q-quantile from cumulative bucket increases, interpolated inside its bucket; null when empty. */
export function quantile(q, buckets) {
  const count = buckets.at(-1)?.[1] ?? 0;
  if (count === 0) return null;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of buckets) {
    if (cumulative >= rank) {
      if (le === Infinity) return lower;
      return lower + (le - lower) * ((rank - below) / (cumulative - below || 1));
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}

/** Rates per second by chart and the latency p99 in milliseconds between two scrapes. */
export function compare(before, now) {
  const seconds = (now.at - before.at) / 1000;
  const rates = {};
  for (const series of OUTCOME_SERIES) {
    const count = series.labels.reduce((sum, label) => sum + increase(now.outcomes[label] ?? 0, before.outcomes[label] ?? 0), 0);
    rates[series.key] = count / seconds;
  }
  const earlier = new Map(before.buckets);
  const windowBuckets = now.buckets.map(([le, cumulative]) => [le, increase(cumulative, earlier.get(le) ?? 0)]);
  const p99 = quantile(0.99, windowBuckets);
  return { rates, p99Ms: p99 === null ? null : p99 * 1000 };
}

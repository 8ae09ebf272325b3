import type { LineSettings, LineView } from './line';
import { DomainError } from './errors';

/** A SKU's or a location's four counters. */
export type StockCounts = { total: number; available: number; reserved: number; sold: number };

/** Invariant 1 (docs/reliability.md#1-conservation): available + reserved + sold == total, none negative. */
export function isConserved({ total, available, reserved, sold }: StockCounts): boolean {
  return available + reserved + sold === total && available >= 0 && reserved >= 0 && sold >= 0;
}

/** Whether two sets of counters are the same. */
export function sameCounts(a: StockCounts, b: StockCounts): boolean {
  return a.total === b.total && a.available === b.available && a.reserved === b.reserved && a.sold === b.sold;
}

/** Whether two lists of a SKU's locations match one for one (name, state, counters), each conserved. */
export function sameLevels(a: readonly LocationLevel[], b: readonly LocationLevel[]): boolean {
  return a.length === b.length && a.every((level, n) => level.location === b[n].location && level.active === b[n].active && sameCounts(level, b[n]) && isConserved(level));
}

/** The counters of one location of a SKU: available + reserved + sold == total. */
export interface LocationLevel {
  location: string;
  /** False for a location left out of the last PUT: it keeps what is held and sold there, takes no new holds. */
  active: boolean;
  total: number;
  available: number;
  reserved: number;
  sold: number;
}

/**
 * The SKU view every route answers with: available + reserved + sold == total, the sums of its
 * locations' counters (a SKU created with a plain total has one, "default"). Active locations come
 * first, in priority order, then those left out of the last PUT that still hold or sold units.
 */
export interface SkuView {
  sku: string;
  total: number;
  available: number;
  reserved: number;
  sold: number;
  perUserLimit: number | null;
  startsAt: string | null;
  endsAt: string | null;
  locations: LocationLevel[];
  /** The SKU's waiting line, or null when it has none. */
  line: LineView | null;
  /** Buckets its units are split into (src/domain/buckets.ts); absent for a SKU in one partition. */
  buckets?: number;
}

/** A location's total as a PUT sets it. */
export interface LocationTotal {
  location: string;
  total: number;
}

export interface SkuSettings {
  /** The sum of `locations` when they are given. */
  total: number;
  /** Null: a plain total, kept in the one location "default". */
  locations?: LocationTotal[] | null;
  perUserLimit: number | null;
  startsAt: string | null;
  endsAt: string | null;
  /** A waiting line in front of the SKU; null (or left out) for none. */
  line?: LineSettings | null;
  /** Buckets its units are split into (src/domain/buckets.ts); 1 (or left out): none. */
  buckets?: number;
}

/**
 * 1..64 of [A-Za-z0-9._:-], but not "." or "..": a browser or fetch resolves such a path segment
 * away, so the SKU could never be addressed. Spelled without a lookahead, which fast-check's
 * stringMatching (the fuzz tests' names) cannot generate from.
 */
export const SKU_PATTERN = '^(?:[A-Za-z0-9._:-]{3,64}|[A-Za-z0-9_:-][A-Za-z0-9._:-]?|\\.[A-Za-z0-9_:-])$';
export const PARTY_ID_PATTERN = '^[A-Za-z0-9._:@-]{1,128}$';
/** A location's name: like a SKU's, so it never holds the separators of the Redis texts ("|", ",", "=", "@", ";", "/"). */
export const LOCATION_PATTERN = SKU_PATTERN;
export const MAX_TOTAL = 1_000_000_000;
export const MAX_LOCATIONS = 50;
/** SKUs one live-event stream may watch. */
export const MAX_WATCHED_SKUS = 100;

const invalid = (message: string, details: unknown) => new DomainError('VALIDATION_FAILED', message, details);

/** A PUT body's settings, checked and in canonical form (times as UTC ISO text). */
export function normalizeSkuSettings(input: {
  total?: number;
  locations?: LocationTotal[];
  perUserLimit?: number | null;
  startsAt?: string | null;
  endsAt?: string | null;
  line?: { holdTtlSeconds?: number | null; lobbySeconds?: number } | null;
  buckets?: number;
}): SkuSettings {
  const startsAt = input.startsAt ? new Date(input.startsAt).toISOString() : null;
  const endsAt = input.endsAt ? new Date(input.endsAt).toISOString() : null;
  if (startsAt && endsAt && endsAt <= startsAt) {
    throw invalid('endsAt must be later than startsAt.', { startsAt: input.startsAt, endsAt: input.endsAt });
  }
  const line = input.line ? { holdTtlSeconds: input.line.holdTtlSeconds ?? null, lobbySeconds: input.line.lobbySeconds ?? 0 } : null;
  const buckets = input.buckets ?? 1;
  const settings = { perUserLimit: input.perUserLimit ?? null, startsAt, endsAt, line, ...(buckets > 1 ? { buckets } : {}) };
  if ((input.total === undefined) === (input.locations === undefined)) {
    throw invalid('Give either total or locations, not both.', { total: input.total, locations: input.locations });
  }
  if (!input.locations) return { ...settings, total: input.total!, locations: null };
  const locations = input.locations.map(({ location, total }) => ({ location, total }));
  const names = new Set(locations.map(({ location }) => location));
  if (names.size !== locations.length) throw invalid('Each location may be listed once.', { locations });
  const total = locations.reduce((sum, { total }) => sum + total, 0);
  if (total > MAX_TOTAL) throw invalid(`The locations' totals may add up to at most ${MAX_TOTAL}.`, { total });
  return { ...settings, total, locations };
}

/** Units a line could hold now: in the location it names (0 when that location takes no holds), else in every active one. */
export function availableFor(view: SkuView | null, location?: string): number {
  const levels = (view?.locations ?? []).filter((level) => level.active && (location === undefined || level.location === location));
  return levels.reduce((sum, level) => sum + Math.max(0, level.available), 0);
}

/** The SKUs a comma-separated list names, each once, in order: 1..MAX_WATCHED_SKUS valid identifiers. */
export function parseSkuList(text: string): string[] {
  const skus = [...new Set(text.split(',').map((sku) => sku.trim()))];
  const pattern = new RegExp(SKU_PATTERN);
  const bad = skus.find((sku) => !pattern.test(sku));
  if (bad !== undefined) throw invalid(`"${bad}" is not a SKU identifier (${SKU_PATTERN}).`, { sku: bad });
  if (skus.length > MAX_WATCHED_SKUS) throw invalid(`At most ${MAX_WATCHED_SKUS} SKUs per stream.`, { count: skus.length });
  return skus;
}

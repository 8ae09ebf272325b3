/**
 * A SKU's stock hash (RedisKeys.stock) as lua/includes/locations.lua lays it out, read and written
 * from TypeScript. Fields: total, available, reserved, sold (the counters), version (the change
 * counter), epoch (the shard epoch that version counts in, lua/includes/stockSnapshot.lua), perUserLimit, startsAt, endsAt (ms; absent when unset); on a SKU with locations, "locations" = active ones in priority
 * order, then "/" and the retired ones, and per location "<location>|<counter>". A SKU without
 * that field keeps everything in its one location, "default". Also the "levels" text
 * (lua/includes/locationLevels.lua, and encodeLevels below) that restore and repair write a located SKU's counters with.
 */
import { DEFAULT_LOCATION } from '../domain/reservation';
import type { LineView } from '../domain/line';
import type { LocationLevel, SkuView } from '../domain/sku';

export interface LocationList {
  active: string[];
  retired: string[];
}

export function parseLocationList(text: string | null | undefined): LocationList | null {
  if (text === null || text === undefined) return null;
  const [active, retired = ''] = text.split('/');
  const names = (list: string) => list.split(',').filter(Boolean);
  return { active: names(active), retired: names(retired) };
}

const locationField = (location: string, counter: 'total' | 'available' | 'reserved' | 'sold') => `${location}|${counter}`;
const count = (value: string | undefined) => Number(value ?? 0);
const time = (ms: string | undefined) => (ms === undefined ? null : new Date(Number(ms)).toISOString());

/** Every location's counters: active first in priority order; "default" for a SKU without locations. */
export function locationLevelsOf(hash: Record<string, string>): LocationLevel[] {
  const list = parseLocationList(hash.locations);
  if (!list) return [defaultLevel({ total: count(hash.total), available: count(hash.available), reserved: count(hash.reserved), sold: count(hash.sold) })];
  const level = (location: string, active: boolean): LocationLevel => ({
    location,
    active,
    total: count(hash[locationField(location, 'total')]),
    available: count(hash[locationField(location, 'available')]),
    reserved: count(hash[locationField(location, 'reserved')]),
    sold: count(hash[locationField(location, 'sold')]),
  });
  return [...list.active.map((location) => level(location, true)), ...list.retired.map((location) => level(location, false))];
}

/** The one location of a SKU without locations: its own counters. */
export function defaultLevel(counters: { total: number; available: number; reserved: number; sold: number }): LocationLevel {
  const { total, available, reserved, sold } = counters;
  return { location: DEFAULT_LOCATION, active: true, total, available, reserved, sold };
}

/** A location's counters as scripts reply and snapshot them: [location, total, available, reserved, sold, 1 active | 0 retired]. */
export type LocationCounterRow = [string, number, number, number, number, number];

export function levelsOfRows(rows: readonly LocationCounterRow[]): LocationLevel[] {
  return rows.map(([location, total, available, reserved, sold, active]) => ({ location, active: active === 1, total, available, reserved, sold }));
}

/** The SKU view of a whole stock hash (HGETALL); null when the SKU does not exist. */
export function skuViewOf(sku: string, hash: Record<string, string>): SkuView | null {
  if (hash.total === undefined) return null;
  return {
    sku,
    total: count(hash.total),
    available: count(hash.available),
    reserved: count(hash.reserved),
    sold: count(hash.sold),
    perUserLimit: hash.perUserLimit === undefined ? null : Number(hash.perUserLimit),
    startsAt: time(hash.startsAt),
    endsAt: time(hash.endsAt),
    locations: locationLevelsOf(hash),
    line: lineViewOf(hash),
    ...(hash.buckets === undefined ? {} : { buckets: Number(hash.buckets) }),
  };
}

/** The line fields of the stock hash (lua/includes/line.lua): null when the SKU has no line. */
export function lineViewOf(hash: Record<string, string>): LineView | null {
  if (hash.lineHoldTtlMs === undefined) return null;
  return { waiting: count(hash.lineWaiting), admitted: count(hash.lineAdmitted), holdTtlSeconds: count(hash.lineHoldTtlMs) / 1000, lobbySeconds: count(hash.lineLobbyMs) / 1000 };
}

/** A location's total and sold units, as restore and repair write them (reserved comes from the holds). */
export interface LocationTotals {
  location: string;
  active: boolean;
  total: number;
  sold: number;
}

/** The levels text: "<location>=<total>:<sold>,..." for active locations, then "/" and the retired ones. */
export function encodeLevels(levels: readonly LocationTotals[]): string {
  const list = (active: boolean) =>
    levels
      .filter((level) => level.active === active)
      .map(({ location, total, sold }) => `${location}=${total}:${sold}`)
      .join(',');
  const retired = list(false);
  return retired ? `${list(true)}/${retired}` : list(true);
}

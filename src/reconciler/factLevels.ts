import type { SkuFacts } from '../db/factsRepository';
import type { LocationTotals } from '../redis/stockHash';

/**
 * A SKU's locations as the facts in Postgres call for them: the `known` locations in their order
 * and state (Redis's, or Postgres's rows on a rebuild), each with the total and sold units its
 * movements and committed holds add up to, then the locations only the facts know, as retired.
 * What the drift repair writes and what a rebuild restores, so both arrive at the same counters.
 */
export function factLevels(known: readonly { location: string; active: boolean }[], fact: SkuFacts): LocationTotals[] {
  const names = new Set(known.map((level) => level.location));
  const level = (location: string, active: boolean) => ({ location, active, total: fact.locations.get(location)?.total ?? 0, sold: fact.locations.get(location)?.sold ?? 0 });
  return [
    ...known.map(({ location, active }) => level(location, active)),
    ...[...fact.locations.keys()].filter((location) => !names.has(location)).map((location) => level(location, false)),
  ];
}

/** PATCH of a SKU's settings (JSON merge patch): what PUT body it stands for. Pure, no I/O. */
import { DomainError } from './errors';
import { DEFAULT_LOCATION } from './reservation';
import type { LineSettings } from './line';
import type { LocationTotal, SkuView } from './sku';

/** A PATCH body: the fields it names change, the others keep their values; null resets a nullable one. */
export interface SkuPatch {
  total?: number;
  locations?: LocationTotal[];
  perUserLimit?: number | null;
  startsAt?: string | null;
  endsAt?: string | null;
  line?: Partial<LineSettings> | null;
  buckets?: number;
}

/** The settings as a PUT body names them (checked by normalizeSkuSettings, as a PUT's are). */
export type SkuSettingsInput = Required<Pick<SkuPatch, 'perUserLimit' | 'startsAt' | 'endsAt' | 'line'>> & Pick<SkuPatch, 'total' | 'locations' | 'buckets'>;

/** The stock of a SKU as a PUT would name it again: its active locations with their totals. */
function currentStock(view: SkuView): Pick<SkuPatch, 'total' | 'locations'> {
  const active = view.locations.filter((level) => level.active);
  // A SKU created with a plain total is given one again: a list would give it a location layout it never had.
  if (view.locations.length === 1 && active[0]?.location === DEFAULT_LOCATION) return { total: view.total };
  // Locations left out stay retired, as they are.
  return { locations: active.map(({ location, total }) => ({ location, total })) };
}

/**
 * The PUT body a PATCH stands for: the SKU's settings as `view` shows them, each field the patch
 * names in place of its own. `total` and `locations` are two spellings of the stock, so naming
 * either replaces it; a plain `total` is refused on a SKU whose holds go to named locations, where
 * PUT would fold them all into "default": such a patch names `locations`.
 */
export function mergeSkuPatch(view: SkuView, patch: SkuPatch): SkuSettingsInput {
  const { perUserLimit, startsAt, endsAt } = view;
  const line = view.line && { holdTtlSeconds: view.line.holdTtlSeconds, lobbySeconds: view.line.lobbySeconds };
  const activeLocations = view.locations.filter((level) => level.active).map((level) => level.location);
  const inDefaultOnly = activeLocations.length === 1 && activeLocations[0] === DEFAULT_LOCATION;
  if (patch.total !== undefined && patch.locations === undefined && !inDefaultOnly) {
    throw new DomainError('VALIDATION_FAILED', 'This SKU keeps its stock in locations: patch `locations` to change their totals (a PUT with a plain total would replace them).', {
      sku: view.sku,
      locations: activeLocations,
    });
  }
  const namesStock = patch.total !== undefined || patch.locations !== undefined;
  // A line patch merges into the line (null removes it).
  const patchedLine = patch.line === undefined ? line : patch.line && { ...line, ...patch.line };
  // A split SKU stays split: buckets left out keep their number, as the other settings do.
  const buckets = view.buckets ? { buckets: view.buckets } : {};
  return { perUserLimit, startsAt, endsAt, ...buckets, ...(namesStock ? {} : currentStock(view)), ...patch, line: patchedLine };
}

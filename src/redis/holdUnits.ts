/**
 * The units one reservation holds of one SKU, as lua/includes/holdUnits.lua writes them in hold
 * members, record lines, script replies and outbox lines: "<units>" on a SKU without locations,
 * else "<units>@<location>=<n>;<location>=<n>..." (locations never contain "@", "=" or ";").
 */
import type { Allocation } from '../domain/reservation';

export interface HoldUnits {
  units: number;
  /** Null: held on a SKU without locations (in its one, "default"). */
  allocations: Allocation[] | null;
}

/** Reads a units text, or a plain number (replies and outbox lines of SKUs without locations). */
export function decodeHoldUnits(text: string | number): HoldUnits {
  if (typeof text === 'number') return { units: text, allocations: null };
  const at = text.indexOf('@');
  if (at < 0) return { units: Number(text), allocations: null };
  const allocations = text
    .slice(at + 1)
    .split(';')
    .map((part) => {
      const [location, reserved] = part.split('=');
      return { location, reserved: Number(reserved) };
    });
  return { units: Number(text.slice(0, at)), allocations };
}

export function encodeHoldUnits({ units, allocations }: HoldUnits): string {
  if (!allocations || units === 0) return String(units);
  return `${units}@${allocations.map(({ location, reserved }) => `${location}=${reserved}`).join(';')}`;
}

/**
 * One SKU's units over several lines of a reservation, as its one hold member carries them: the
 * allocations summed per location in first-seen order. Mirrors combineHoldUnits in
 * lua/includes/holdUnits.lua (lines of one SKU are all held with allocations or all without; a
 * line holding nothing has none).
 */
export function combineHoldUnits(parts: readonly HoldUnits[]): HoldUnits {
  const units = parts.reduce((sum, part) => sum + part.units, 0);
  if (parts.every((part) => !part.allocations)) return { units, allocations: null };
  const sums = new Map<string, number>();
  for (const { allocations } of parts) {
    for (const { location, reserved } of allocations ?? []) sums.set(location, (sums.get(location) ?? 0) + reserved);
  }
  return { units, allocations: [...sums].map(([location, reserved]) => ({ location, reserved })) };
}

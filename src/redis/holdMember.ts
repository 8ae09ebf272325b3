/**
 * A hold line's member in its SKU's expiry index, as lua/includes/holdMember.lua writes it:
 *   "<reservationId>|<units text>|<userId>" (units text: holdUnits.ts)
 * It carries what the sweep needs to return the units, so a sweep never reads the record.
 */
export interface HoldMember {
  reservationId: string;
  units: number | string;
  userId: string;
}

export function encodeHoldMember(hold: HoldMember): string {
  return `${hold.reservationId}|${hold.units}|${hold.userId}`;
}

import { type RequestedLine, mergeLinesWithinMaxQty } from './reservation';
import { type SkuView, availableFor } from './sku';

export interface LineAvailability extends RequestedLine {
  available: number;
  ok: boolean;
}

export interface Availability {
  ok: boolean;
  items: LineAvailability[];
}

/**
 * Could these lines be held now? Lines of one SKU and location are merged first; an unknown SKU
 * reads available 0. Holds nothing: `readSkus` only reads the views (StockEngine.getSkus).
 */
export async function checkAvailability(lines: RequestedLine[], readSkus: (skus: string[]) => Promise<(SkuView | null)[]>): Promise<Availability> {
  const items = mergeLinesWithinMaxQty(lines);
  const views = await readSkus(items.map((item) => item.sku));
  const answers = items.map((item, n) => {
    const available = availableFor(views[n], item.location);
    return { ...item, available, ok: available >= item.qty };
  });
  return { ok: answers.every((answer) => answer.ok), items: answers };
}

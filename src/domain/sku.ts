/** The SKU view every route answers with: available + reserved + sold == total. */
export interface SkuView {
  sku: string;
  total: number;
  available: number;
  reserved: number;
  sold: number;
  perUserLimit: number | null;
  startsAt: string | null;
  endsAt: string | null;
}

export interface SkuSettings {
  total: number;
  perUserLimit: number | null;
  startsAt: string | null;
  endsAt: string | null;
}

export const SKU_PATTERN = '^[A-Za-z0-9._:-]{1,64}$';
export const PARTY_ID_PATTERN = '^[A-Za-z0-9._:@-]{1,128}$';
export const MAX_TOTAL = 1_000_000_000;

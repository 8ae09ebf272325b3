import { DomainError } from './errors';

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

/** A PUT body's settings, checked and in canonical form (times as UTC ISO text). */
export function normalizeSkuSettings(input: { total: number; perUserLimit?: number | null; startsAt?: string | null; endsAt?: string | null }): SkuSettings {
  const startsAt = input.startsAt ? new Date(input.startsAt).toISOString() : null;
  const endsAt = input.endsAt ? new Date(input.endsAt).toISOString() : null;
  if (startsAt && endsAt && endsAt <= startsAt) {
    throw new DomainError('VALIDATION_FAILED', 'endsAt must be later than startsAt.', { startsAt: input.startsAt, endsAt: input.endsAt });
  }
  return { total: input.total, perUserLimit: input.perUserLimit ?? null, startsAt, endsAt };
}

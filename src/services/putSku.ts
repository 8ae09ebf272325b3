import { findSkuRow } from '../db/skuRepository';
import { DomainError } from '../domain/errors';
import { skuNotFound } from '../domain/refusals';
import { bucketSkus } from '../domain/buckets';
import { type SkuSettings, normalizeSkuSettings } from '../domain/sku';
import { type SkuPatch, mergeSkuPatch } from '../domain/skuPatch';
import { movesSettled, writeSplitSku } from './splitSkuWrites';
import { type PutSkuResult, type SkuServices, restoreLostSku, writeOneSku } from './writeOneSku';

export type { PutSkuResult } from './writeOneSku';

/** Creates or updates a SKU with these settings, all of them (PUT replaces). */
export function putSku(services: SkuServices, sku: string, settings: SkuSettings, actor: string): Promise<PutSkuResult> {
  return writeSku(services, sku, actor, async () => settings);
}

/**
 * Changes the settings a patch names and keeps the others (PATCH): reads the SKU, merges, and
 * writes the merged settings as a PUT. The read and the write are one Redis round trip apart: a
 * PUT, PATCH or adjust of the same SKU landing between them is overwritten for the fields this
 * patch keeps (set_stock takes no expected settings to compare with). Holds, commits and
 * expiries meanwhile are not: set_stock reads what is held and sold itself.
 */
export function patchSku(services: SkuServices, sku: string, patch: SkuPatch, actor: string): Promise<PutSkuResult> {
  return writeSku(services, sku, actor, async () => {
    let view = await services.engine.getSku(sku);
    if (!view) throw skuNotFound(sku);
    // A split SKU's view leaves out units moving between its buckets: read again once they arrived.
    if (view.buckets) {
      await movesSettled(services.maintenance, bucketSkus(sku, view.buckets));
      view = await services.engine.getSku(sku);
      if (!view) throw skuNotFound(sku);
    }
    return normalizeSkuSettings(mergeSkuPatch(view, patch));
  });
}

/**
 * Writes a SKU with the settings `settingsNow` gives: one SKU, or each bucket of a split one
 * (splitSkuWrites.ts) when it is split or is being split. A SKU Redis lost alone while Postgres
 * knows it is restored first.
 */
async function writeSku(services: SkuServices, sku: string, actor: string, settingsNow: () => Promise<SkuSettings>): Promise<PutSkuResult> {
  const { engine, maintenance, db } = services;
  const known = await findSkuRow(db, sku);
  const settings = await settingsNow().catch(async (error) => {
    if (!known || !(error instanceof DomainError) || error.code !== 'SKU_NOT_FOUND') throw error;
    await restoreLostSku(maintenance, db, known);
    return settingsNow();
  });
  const splitNow = (known?.buckets ?? 1) > 1 || ((await engine.getSku(sku).catch(() => null))?.buckets ?? 1) > 1;
  if (splitNow || (settings.buckets ?? 1) > 1) return writeSplitSku(services, sku, settings, actor);
  return writeOneSku(services, sku, actor, settings, { known: known ?? null });
}

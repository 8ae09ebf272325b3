import { findSkuRow } from '../db/skuRepository';
import { DomainError, UnavailableError } from '../domain/errors';
import { skuNotFound } from '../domain/refusals';
import { type SkuSettings, normalizeSkuSettings } from '../domain/sku';
import { type SkuPatch, mergeSkuPatch } from '../domain/skuPatch';
import { type SplitWriteOptions, writeSplitSku } from './splitSkuWrites';
import { type PutSkuResult, type SkuServices, restoreLostSku, writeOneSku } from './writeOneSku';

export type { PutSkuResult } from './writeOneSku';

/** Creates or updates a SKU with these settings, all of them (PUT replaces). */
export function putSku(services: SkuServices, sku: string, settings: SkuSettings, actor: string): Promise<PutSkuResult> {
  return writeSku(services, sku, actor, async () => settings);
}

/**
 * Changes the settings a patch names and keeps the others (PATCH): reads the SKU, merges, and
 * writes the merged settings as a PUT, under the SKU's write lease, so no other PUT or PATCH lands
 * between the read and the write. An adjust may (it takes no lease): on a SKU in one partition, a
 * PATCH naming no stock then writes the total it read over it; a split SKU's keeps its buckets'
 * totals as its write reads them, units moving between them included. Holds, commits and expiries
 * meanwhile change nothing it writes: set_stock reads what is held and sold itself.
 */
export function patchSku(services: SkuServices, sku: string, patch: SkuPatch, actor: string): Promise<PutSkuResult> {
  const settingsNow = async () => {
    const view = await services.engine.getSku(sku);
    if (!view) throw skuNotFound(sku);
    return normalizeSkuSettings(mergeSkuPatch(view, patch));
  };
  // A split SKU's view leaves out units moving between its buckets: its write takes the totals from its own read.
  return writeSku(services, sku, actor, settingsNow, { keepStock: patch.total === undefined && patch.locations === undefined });
}

/** How long a write waits for the SKU's write under way elsewhere before answering 503. */
const WRITE_LEASE_WAIT_MS = 10_000;

/**
 * Writes a SKU with the settings `settingsNow` gives, holding the SKU's write lease: writes of one
 * SKU from every engine run one at a time (a split SKU's would otherwise mix their buckets).
 */
async function writeSku(services: SkuServices, sku: string, actor: string, settingsNow: () => Promise<SkuSettings>, options: SplitWriteOptions = {}): Promise<PutSkuResult> {
  const lease = await services.maintenance.writeLease(sku).acquire(WRITE_LEASE_WAIT_MS);
  if (!lease) throw new UnavailableError(`Writing ${sku}`, undefined, 'another write of this SKU is under way: retry once it has ended');
  try {
    return await writeHeldSku(services, sku, actor, settingsNow, options);
  } finally {
    await lease.release();
  }
}

/**
 * Writes a SKU with the settings `settingsNow` gives: one SKU, or each bucket of a split one
 * (splitSkuWrites.ts) when it is split or is being split. A SKU Redis lost alone while Postgres
 * knows it is restored first.
 */
async function writeHeldSku(services: SkuServices, sku: string, actor: string, settingsNow: () => Promise<SkuSettings>, options: SplitWriteOptions): Promise<PutSkuResult> {
  const { engine, maintenance, db } = services;
  const known = await findSkuRow(db, sku);
  const settings = await settingsNow().catch(async (error) => {
    if (!known || !(error instanceof DomainError) || error.code !== 'SKU_NOT_FOUND') throw error;
    await restoreLostSku(maintenance, db, known);
    return settingsNow();
  });
  const splitNow = (known?.buckets ?? 1) > 1 || ((await engine.getSku(sku).catch(() => null))?.buckets ?? 1) > 1;
  if (splitNow || (settings.buckets ?? 1) > 1) return writeSplitSku(services, sku, settings, actor, options);
  return writeOneSku(services, sku, actor, settings, { known: known ?? null });
}

/** One way of holding stock, for the strategy shoot-out. Each must be correct; they differ in speed. */
export interface ReserveBackend {
  /** Puts `total` units of each SKU on sale, forgetting earlier holds. */
  setup(skus: string[], total: number): Promise<void>;
  /** Holds `qty` of `sku` for `userId`: true if held, false if sold out. Throws when it gave up (lock or retry budget). */
  reserve(sku: string, userId: string, qty: number): Promise<boolean>;
  /** Units recorded as held, and units the stock counters say left, summed over all SKUs. */
  tally(): Promise<{ held: number; available: number }>;
  close(): Promise<void>;
}

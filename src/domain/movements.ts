/**
 * The kinds of movement a SKU's movement list shows (API.md): every change of its counters.
 */
export const SKU_MOVEMENT_TYPES = ['SET', 'ADJUST', 'RESERVE', 'COMMIT', 'RELEASE', 'EXPIRE'] as const;

/**
 * Every kind of stock movement, as the audit trail (stock_movements) records it: also MOVE, units
 * moved between two buckets of a split SKU (src/domain/buckets.ts), which changes none of the SKU's
 * counters and is left out of its list.
 */
export const MOVEMENT_TYPES = [...SKU_MOVEMENT_TYPES, 'MOVE'] as const;
export type MovementType = (typeof MOVEMENT_TYPES)[number];
export type SkuMovementType = (typeof SKU_MOVEMENT_TYPES)[number];

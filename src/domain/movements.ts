/** Every kind of stock movement, as the audit trail (stock_movements) records it. */
export const MOVEMENT_TYPES = ['SET', 'ADJUST', 'RESERVE', 'COMMIT', 'RELEASE', 'EXPIRE', 'MOVE'] as const;
export type MovementType = (typeof MOVEMENT_TYPES)[number];

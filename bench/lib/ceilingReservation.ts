import { toLine } from '../../src/domain/reservation';

/** The fixed reservation the ceiling servers answer every reserve with: the engine's answer, without the engine. */
export const CEILING_RESERVATION = {
  id: 'AAAAAAAAAAAAAAAA',
  status: 'PENDING' as const,
  userId: 'u-1',
  orderId: 'o-1',
  items: [toLine('hot', 1, 1, null)],
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T00:15:00.000Z',
};

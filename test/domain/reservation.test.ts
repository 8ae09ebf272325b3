import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requestFingerprint } from '../../src/domain/fingerprint';
import { homeOfReservationId, newReservationId } from '../../src/domain/ids';
import { DomainError } from '../../src/domain/errors';
import { MAX_QTY, mergeLines, mergeLinesWithinMaxQty, readStatus, toLine } from '../../src/domain/reservation';

const line = fc.record({ sku: fc.constantFrom('a', 'b', 'c', 'd'), qty: fc.integer({ min: 1, max: 10_000 }) });

describe('mergeLines', () => {
  it('keeps one line per SKU, quantities summed, first appearance first', () => {
    expect(mergeLines([{ sku: 'b', qty: 1 }, { sku: 'a', qty: 2 }, { sku: 'b', qty: 3 }])).toEqual([
      { sku: 'b', qty: 4 },
      { sku: 'a', qty: 2 },
    ]);
  });

  it('conserves the units of every SKU (property)', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 50 }), (lines) => {
        const merged = mergeLines(lines);
        expect(new Set(merged.map((l) => l.sku)).size).toBe(merged.length);
        for (const { sku, qty } of merged) {
          expect(qty).toBe(lines.filter((l) => l.sku === sku).reduce((sum, l) => sum + l.qty, 0));
        }
      }),
    );
  });
});

describe('mergeLinesWithinMaxQty', () => {
  it('merges, and refuses a merged quantity over MAX_QTY with VALIDATION_FAILED naming the SKU', () => {
    expect(mergeLinesWithinMaxQty([{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }, { sku: 'a', qty: MAX_QTY - 1 }])).toEqual([
      { sku: 'a', qty: MAX_QTY },
      { sku: 'b', qty: 2 },
    ]);
    expect(() => mergeLinesWithinMaxQty([{ sku: 'b', qty: 1 }, { sku: 'a', qty: 6000 }, { sku: 'a', qty: 5000 }])).toThrow(
      expect.objectContaining({ constructor: DomainError, code: 'VALIDATION_FAILED', status: 400, details: { sku: 'a' } }),
    );
  });
});

describe('requestFingerprint', () => {
  const base = { userId: 'u', orderId: 'o', ttlSeconds: 900, allowPartial: false };

  it('ignores line order and changes with any field', () => {
    const a = requestFingerprint({ ...base, lines: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }] });
    expect(requestFingerprint({ ...base, lines: [{ sku: 'b', qty: 2 }, { sku: 'a', qty: 1 }] })).toBe(a);
    expect(requestFingerprint({ ...base, lines: [{ sku: 'a', qty: 2 }, { sku: 'b', qty: 2 }] })).not.toBe(a);
    expect(requestFingerprint({ ...base, orderId: 'o2', lines: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }] })).not.toBe(a);
    expect(requestFingerprint({ ...base, allowPartial: true, lines: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }] })).not.toBe(a);
  });
});

describe('reservation rules', () => {
  it('a pending reservation reads EXPIRED from its expiry on, terminal states never change', () => {
    expect(readStatus('PENDING', 1000, 999)).toBe('PENDING');
    expect(readStatus('PENDING', 1000, 1000)).toBe('EXPIRED');
    expect(readStatus('COMMITTED', 1000, 5000)).toBe('COMMITTED');
    expect(readStatus('RELEASED', 1000, 5000)).toBe('RELEASED');
  });

  it('a short line is BACKORDERED with the difference', () => {
    expect(toLine('a', 5, 5, null)).toEqual({ sku: 'a', qty: 5, reserved: 5, backordered: 0, status: 'RESERVED', allocations: [{ location: 'default', reserved: 5 }] });
    expect(toLine('a', 5, 2, [{ location: 'berlin', reserved: 1 }, { location: 'paris', reserved: 1 }])).toEqual({
      sku: 'a',
      qty: 5,
      reserved: 2,
      backordered: 3,
      status: 'BACKORDERED',
      allocations: [{ location: 'berlin', reserved: 1 }, { location: 'paris', reserved: 1 }],
    });
    expect(toLine('a', 5, 0, null).allocations).toEqual([]);
  });

  it('reservation ids are their home partition, then 16 url-safe random characters, and do not repeat', () => {
    const ids = new Set(Array.from({ length: 5000 }, (_, n) => newReservationId(n % 64)));
    expect(ids.size).toBe(5000);
    [...ids].forEach((id, n) => {
      expect(id).toMatch(/^[A-Za-z0-9_-]{17}$/);
      expect(homeOfReservationId(id)).toBe(n % 64);
    });
  });
});

/**
 * FreshReads (src/services/freshReads.ts): callers asking at once share reads, and each gets a read
 * that began after it asked. Seeded; replay with FRESH_READS_SEED=<seed>.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Random } from '../../chaos/lib/random';
import { FreshReads } from '../../src/services/freshReads';

const seed = Number(process.env.FRESH_READS_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('FreshReads', () => {
  it(`every caller gets a read begun after it asked, and callers at once share at most two reads of a key (seed ${seed})`, async () => {
    const random = new Random(seed);
    const reads = new FreshReads<number>();
    let started = 0;
    let running = 0;
    let mostAtOnce = 0;
    const read = async () => {
      const id = started++;
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await sleep(random.int(1, 5));
      running--;
      return id;
    };
    const callers = Array.from({ length: 300 }, async (_, n) => {
      await sleep(random.int(0, 40));
      const startedWhenAsked = started;
      const key = n % 3 === 0 ? 'other' : 'hot';
      return { startedWhenAsked, id: await reads.read(key, read), key };
    });
    const answers = await Promise.all(callers);
    for (const { startedWhenAsked, id } of answers) expect(id, `seed ${seed}`).toBeGreaterThanOrEqual(startedWhenAsked);
    // One read per key at a time: two keys, two reads at once at most.
    expect(mostAtOnce).toBeLessThanOrEqual(2);
    // Shared: far fewer reads than callers.
    expect(started).toBeLessThan(150);
  });

  it('a failed read fails its callers only, and the key is read again after it', async () => {
    const reads = new FreshReads<string>();
    let calls = 0;
    const failing = async () => {
      calls++;
      await sleep(5);
      throw new Error('Redis went away');
    };
    const first = reads.read('k', failing);
    const queued = reads.read('k', failing);
    await expect(first).rejects.toThrow('Redis went away');
    await expect(queued).rejects.toThrow('Redis went away');
    expect(calls).toBe(2);
    expect(await reads.read('k', async () => 'back')).toBe('back');
  });
});

import { forEachConcurrently } from './concurrency';

describe('forEachConcurrently', () => {
  it('runs every item, in order of start, never more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await forEachConcurrently([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 5 + (n % 3)));
      running--;
    });
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });

  it('rejects with the first error', async () => {
    await expect(
      forEachConcurrently([1, 2], 2, async (n) => {
        if (n === 2) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
  });
});

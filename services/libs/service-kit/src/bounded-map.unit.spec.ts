import { setBounded } from './bounded-map';

describe('setBounded', () => {
  it('keeps the newest entries up to the limit, a re-set key counting as new', () => {
    const map = new Map<string, number>();
    setBounded(map, 'a', 1, 2);
    setBounded(map, 'b', 2, 2);
    setBounded(map, 'a', 3, 2); // a is now the newest
    setBounded(map, 'c', 4, 2); // b, the oldest, goes
    expect([...map]).toEqual([
      ['a', 3],
      ['c', 4],
    ]);
  });
});

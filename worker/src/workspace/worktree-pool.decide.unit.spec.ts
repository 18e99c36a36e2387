import { decideRefill, pickEntry, type PoolEntryFacts, type RefillFacts } from './worktree-pool.decide';

const now = 1_000_000_000;
const hour = 3_600_000;
const entry = (id: string, commit: string, madeAgoMs = 0, state: PoolEntryFacts['state'] = 'ready'): PoolEntryFacts => ({
  id,
  commit,
  state,
  madeAt: now - madeAgoMs,
});
const facts = (over: Partial<RefillFacts>): RefillFacts => ({
  entries: [],
  policy: { size: 2, idleMs: hour },
  now,
  lastTakenAt: now - 1000,
  mirrorExists: true,
  running: 1,
  slots: 4,
  ...over,
});

describe('The worktree pool', () => {
  describe('when a checkout takes an entry', () => {
    it('prefers one already at the wanted commit', () => {
      expect(pickEntry([entry('x', 'c1', 0), entry('y', 'c2', 5000)], 'c2')?.id).toBe('y');
    });

    it('else takes the newest ready one, never one still being filled', () => {
      expect(pickEntry([entry('old', 'c1', 5000), entry('new', 'c2', 1000), entry('filling', 'c3', 0, 'filling')], 'c9')?.id).toBe('new');
      expect(pickEntry([entry('filling', 'c9', 0, 'filling')], 'c9')).toBeUndefined();
    });
  });

  describe('when it refills', () => {
    it('makes one entry at a time up to its size', () => {
      expect(decideRefill(facts({}))).toEqual({ make: 1, drop: [], why: 'fill' });
      expect(decideRefill(facts({ entries: [entry('a', 'c1')] }))).toEqual({ make: 1, drop: [], why: 'fill' });
      expect(decideRefill(facts({ entries: [entry('a', 'c1', 0, 'filling')] }))).toMatchObject({ make: 0, why: 'filling' });
      expect(decideRefill(facts({ entries: [entry('a', 'c1'), entry('b', 'c1')] }))).toMatchObject({ make: 0, why: 'full' });
    });

    it('waits while every slot runs an attempt', () => {
      expect(decideRefill(facts({ running: 4, slots: 4 }))).toEqual({ make: 0, drop: [], why: 'busy' });
    });

    it('drops the ready entries of a mirror idle for too long, or gone, and makes none', () => {
      const entries = [entry('a', 'c1'), entry('b', 'c1', 0, 'filling')];
      expect(decideRefill(facts({ entries, lastTakenAt: now - hour }))).toEqual({ make: 0, drop: ['a'], why: 'idle' });
      expect(decideRefill(facts({ entries, mirrorExists: false }))).toEqual({ make: 0, drop: ['a'], why: 'mirror-gone' });
    });

    it('makes nothing and drops what it has when turned off', () => {
      expect(decideRefill(facts({ entries: [entry('a', 'c1')], policy: { size: 0, idleMs: hour } }))).toEqual({ make: 0, drop: ['a'], why: 'off' });
    });
  });
});

/*
 * The worktree pool's choices. Pure: worktree-pool.ts hands in what it holds and the clock.
 *
 * Per mirror the agent keeps a few pristine worktrees made ahead of time (detached at the commit
 * its last checkout used), so a checkout is a `git checkout -B` that rewrites only the files that
 * differ plus a rename, instead of a `worktree add` of every file. Rules:
 * 1. an entry is only ever fresh: made by the pool, never touched by a task, taken once; a take
 *    prefers an entry already at the wanted commit, else the newest ready one;
 * 2. refill after each take and after each attempt ends, one entry at a time per mirror, up to
 *    the pool's size — never while every slot runs an attempt (their CPU comes first; the refill
 *    waits for one to end);
 * 3. a mirror with no take for `idleMs` loses its entries (disk for repositories nobody uses), and
 *    one whose mirror is gone loses them at once.
 * Tested in worktree-pool.decide.unit.spec.ts.
 */

export interface PoolEntryFacts {
  id: string;
  /** The commit it is (or is being) checked out at. */
  commit: string;
  /** `filling` while its files are written; only `ready` ones are taken. */
  state: 'filling' | 'ready';
  /** When it was made (ms since the epoch). */
  madeAt: number;
}

export interface PoolPolicy {
  /** Entries per mirror; 0 turns the pool off. */
  size: number;
  /** A mirror with no checkout for this long loses its entries. */
  idleMs: number;
}

/** `--slots`-free defaults: two entries per mirror, dropped after an hour without a checkout. */
export const defaultPoolPolicy: PoolPolicy = { size: 2, idleMs: 3600 * 1000 };

/** The entry a checkout of `commit` takes, if any. */
export function pickEntry(entries: readonly PoolEntryFacts[], commit: string): PoolEntryFacts | undefined {
  const ready = entries.filter((e) => e.state === 'ready');
  return ready.find((e) => e.commit === commit) ?? [...ready].sort((a, b) => b.madeAt - a.madeAt)[0];
}

export interface RefillFacts {
  entries: readonly PoolEntryFacts[];
  policy: PoolPolicy;
  now: number;
  /** The mirror's last checkout (ms since the epoch). */
  lastTakenAt: number;
  mirrorExists: boolean;
  /** Attempts running on the agent, and its slots. */
  running: number;
  slots: number;
}

export type RefillDecision =
  { make: 0 | 1; drop: string[]; why: 'fill' | 'full' | 'filling' | 'busy' } | { make: 0; drop: string[]; why: 'idle' | 'mirror-gone' | 'off' };

export function decideRefill(facts: RefillFacts): RefillDecision {
  const { entries, policy } = facts;
  const ready = entries.filter((e) => e.state === 'ready').map((e) => e.id);
  if (!facts.mirrorExists) return { make: 0, drop: ready, why: 'mirror-gone' };
  if (policy.size <= 0) return { make: 0, drop: ready, why: 'off' };
  if (facts.now - facts.lastTakenAt >= policy.idleMs) return { make: 0, drop: ready, why: 'idle' };
  if (entries.length >= policy.size) return { make: 0, drop: [], why: 'full' };
  if (entries.some((e) => e.state === 'filling')) return { make: 0, drop: [], why: 'filling' };
  if (facts.running >= facts.slots) return { make: 0, drop: [], why: 'busy' };
  return { make: 1, drop: [], why: 'fill' };
}

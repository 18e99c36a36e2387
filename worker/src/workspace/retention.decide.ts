/*
 * Which worktrees a retention sweep removes. Pure: the sweep (worktree-retention.ts) measures the
 * worktrees and hands them in with the clock; this says what goes and why.
 *
 * Rules, in order:
 * 1. a finished worktree kept longer than the retention goes (`expired`);
 * 2. then, while all worktrees together (running ones included: they use the disk too) exceed the
 *    budget, finished ones go oldest first (`over-budget`);
 * 3. a worktree in use (its attempt still runs) never goes, whatever the budget says; when only
 *    such worktrees are left over the budget, the decision says so (`overBudgetBytes`).
 */

export interface WorktreeFacts {
  /** Where it is (also the tie-break between two that finished at the same time). */
  path: string;
  taskId: string;
  attempt: number;
  /** When its attempt ended (ms since the epoch); undefined while in use. */
  finishedAt?: number;
  /** Disk it uses (allocated blocks). */
  sizeBytes: number;
  /** Its attempt still runs: never removed. */
  inUse: boolean;
}

export type RemovalReason = 'expired' | 'over-budget';

export interface RetentionPolicy {
  /** How long a finished worktree is kept. */
  retentionMs: number;
  /** Most disk all worktrees may use together. */
  budgetBytes: number;
}

export interface RetentionDecision {
  remove: { worktree: WorktreeFacts; reason: RemovalReason }[];
  /** All worktrees' size before and after the removals. */
  totalBytes: number;
  keptBytes: number;
  /** > 0 when what is left (all of it in use) still exceeds the budget. */
  overBudgetBytes: number;
  /** When the next kept finished worktree expires (ms since the epoch), if any is kept. */
  nextExpiryAt?: number;
}

export function decideRetention(worktrees: readonly WorktreeFacts[], now: number, policy: RetentionPolicy): RetentionDecision {
  const remove: RetentionDecision['remove'] = [];
  const totalBytes = worktrees.reduce((sum, w) => sum + w.sizeBytes, 0);
  // A finished worktree with no known end (its record was lost) counts as the oldest.
  const endOf = (w: WorktreeFacts): number => w.finishedAt ?? Number.NEGATIVE_INFINITY;
  const finished = worktrees.filter((w) => !w.inUse).sort((a, b) => endOf(a) - endOf(b) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const left: WorktreeFacts[] = [];
  for (const worktree of finished) {
    if (now - endOf(worktree) >= policy.retentionMs) remove.push({ worktree, reason: 'expired' });
    else left.push(worktree);
  }
  let keptBytes = totalBytes - remove.reduce((sum, r) => sum + r.worktree.sizeBytes, 0);
  while (keptBytes > policy.budgetBytes && left.length > 0) {
    const oldest = left.shift()!;
    remove.push({ worktree: oldest, reason: 'over-budget' });
    keptBytes -= oldest.sizeBytes;
  }
  const decision: RetentionDecision = { remove, totalBytes, keptBytes, overBudgetBytes: Math.max(0, keptBytes - policy.budgetBytes) };
  const next = left[0];
  if (next) decision.nextExpiryAt = endOf(next) + policy.retentionMs;
  return decision;
}

import { decideRetention, type WorktreeFacts } from './retention.decide';

const now = 1_000_000_000;
const hour = 3_600_000;
const policy = { retentionMs: 24 * hour, budgetBytes: 100 };

function finished(name: string, agoMs: number, sizeBytes: number): WorktreeFacts {
  return { path: `/s/worktrees/${name}/repo`, taskId: name, attempt: 1, finishedAt: now - agoMs, sizeBytes, inUse: false };
}
function running(name: string, sizeBytes: number): WorktreeFacts {
  return { path: `/s/work/${name}/repo`, taskId: name, attempt: 1, sizeBytes, inUse: true };
}
const removed = (decision: ReturnType<typeof decideRetention>) => decision.remove.map((r) => [r.worktree.taskId, r.reason]);

describe('decideRetention', () => {
  it('keeps everything within the retention and the budget, and says when the oldest expires', () => {
    const decision = decideRetention([finished('a', 2 * hour, 10), finished('b', hour, 10), running('c', 10)], now, policy);
    expect(decision.remove).toEqual([]);
    expect(decision).toMatchObject({ totalBytes: 30, keptBytes: 30, overBudgetBytes: 0, nextExpiryAt: now - 2 * hour + 24 * hour });
  });

  it('removes every finished worktree kept longer than the retention, however small', () => {
    const decision = decideRetention([finished('old', 25 * hour, 1), finished('older', 48 * hour, 1), finished('new', hour, 1)], now, policy);
    expect(removed(decision)).toEqual([
      ['older', 'expired'],
      ['old', 'expired'],
    ]);
    expect(decision.keptBytes).toBe(1);
    expect(decision.nextExpiryAt).toBe(now - hour + 24 * hour);
  });

  it('removes a worktree exactly at its retention', () => {
    expect(removed(decideRetention([finished('a', 24 * hour, 1)], now, policy))).toEqual([['a', 'expired']]);
  });

  it('over the budget, removes finished worktrees oldest first until the rest fits, counting running ones', () => {
    const decision = decideRetention(
      [finished('newest', 1_000, 40), finished('oldest', 3 * hour, 40), finished('middle', hour, 40), running('r', 30)],
      now,
      policy,
    );
    // 150 bytes: the oldest goes (110), then the next oldest (70 ≤ 100); the newest stays.
    expect(removed(decision)).toEqual([
      ['oldest', 'over-budget'],
      ['middle', 'over-budget'],
    ]);
    expect(decision).toMatchObject({ totalBytes: 150, keptBytes: 70, overBudgetBytes: 0 });
  });

  it('applies the retention first, then the budget to what is left', () => {
    const decision = decideRetention([finished('expired', 30 * hour, 5), finished('a', 2 * hour, 60), finished('b', hour, 60)], now, policy);
    expect(removed(decision)).toEqual([
      ['expired', 'expired'],
      ['a', 'over-budget'],
    ]);
    expect(decision.keptBytes).toBe(60);
  });

  it('does not count a budget exactly reached as exceeded', () => {
    expect(decideRetention([finished('a', hour, 50), finished('b', 1, 50)], now, policy).remove).toEqual([]);
  });

  it('never removes a worktree in use, however old its attempt or large its files', () => {
    const decision = decideRetention([running('huge', 10_000), finished('small', 1, 1)], now, { retentionMs: 1, budgetBytes: 100 });
    expect(removed(decision)).toEqual([['small', 'expired']]);
    expect(decision.remove.some((r) => r.worktree.inUse)).toBe(false);
  });

  it('over the budget with everything in use, removes nothing and reports by how much', () => {
    const decision = decideRetention([running('a', 80), running('b', 70)], now, policy);
    expect(decision.remove).toEqual([]);
    expect(decision).toMatchObject({ totalBytes: 150, keptBytes: 150, overBudgetBytes: 50 });
    expect(decision.nextExpiryAt).toBeUndefined();
  });

  it('removes every finished one and reports the rest when running ones alone exceed the budget', () => {
    const decision = decideRetention([running('a', 150), finished('f', 1, 10)], now, policy);
    expect(removed(decision)).toEqual([['f', 'over-budget']]);
    expect(decision.overBudgetBytes).toBe(50);
  });

  it('counts a finished worktree whose end is unknown as expired', () => {
    const lost: WorktreeFacts = { path: '/s/worktrees/x/repo', taskId: 'x', attempt: 1, sizeBytes: 1, inUse: false };
    expect(removed(decideRetention([lost, finished('a', 1, 1)], now, policy))).toEqual([['x', 'expired']]);
  });

  it('breaks a tie between worktrees that finished together by path, so sweeps agree', () => {
    const decision = decideRetention([finished('b', hour, 60), finished('a', hour, 60)], now, policy);
    expect(removed(decision)).toEqual([['a', 'over-budget']]);
  });
});

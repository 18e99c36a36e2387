import { refuseOverLimit } from './user-limits';

const now = new Date('2026-12-05T22:10:00Z');

describe('refuseOverLimit', () => {
  it('lets a user within both limits through, and any user through when no limit is set', () => {
    expect(refuseOverLimit({ maxActiveTasks: 3, dailyCostUsd: 5 }, { activeTasks: 2, costTodayUsd: 4.99 }, now)).toBeNull();
    expect(refuseOverLimit({ maxActiveTasks: null, dailyCostUsd: null }, { activeTasks: 10_000, costTodayUsd: 1e6 }, now)).toBeNull();
  });

  it('refuses the task that would exceed the unfinished-task limit with a 429 that says what to do', () => {
    const refusal = refuseOverLimit({ maxActiveTasks: 3, dailyCostUsd: null }, { activeTasks: 3, costTodayUsd: 0 }, now);
    expect(refusal?.status).toBe(429);
    expect(refusal?.message).toMatch(/3 unfinished tasks and the limit is 3: wait for some to finish or cancel/);
    expect(refusal?.details).toMatchObject({ limit: 'maxActiveTasks' });
  });

  it('refuses new tasks once the day’s reported cost reaches the limit, until the next UTC midnight', () => {
    const refusal = refuseOverLimit({ maxActiveTasks: null, dailyCostUsd: 5 }, { activeTasks: 0, costTodayUsd: 5 }, now);
    expect(refusal?.status).toBe(429);
    expect(refusal?.message).toContain('$5.00 of agent cost today');
    expect(refusal?.details).toMatchObject({ limit: 'dailyCostUsd', resetsAt: '2026-12-06T00:00:00.000Z', retryAfterSeconds: 6600 });
  });
});

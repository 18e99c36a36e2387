import { initialState, type TaskState } from './task';
import { artifactUploadAccess, secretAccess } from './task-secret-access';

const W1 = 'worker-1';
const W2 = 'worker-2';

/** A task whose env references `gh` twice and `npm` once, held by W1 on attempt 2. */
function task(overrides: Partial<TaskState> = {}): TaskState {
  return {
    ...initialState(),
    exists: true,
    id: 'task-1',
    ownerId: 'alice',
    tool: 'shell',
    input: { command: 'true', env: { A: { secret: 'gh' }, B: { secret: 'npm' }, C: 'plain', D: { secret: 'gh' } } },
    status: 'running',
    attempt: 2,
    workerId: W1,
    ...overrides,
  };
}

describe('Secret access to a task', () => {
  describe('when the worker holds the current attempt', () => {
    it.each(['assigned', 'running'] as const)('grants the owner and the distinct names while %s', (status) => {
      expect(secretAccess(task({ status }), W1, 2)).toEqual({ granted: true, ownerId: 'alice', names: ['gh', 'npm'] });
    });

    it('grants an empty list for a task without secret refs', () => {
      expect(secretAccess(task({ input: { command: 'true', env: { A: 'x' } } }), W1, 2)).toEqual({ granted: true, ownerId: 'alice', names: [] });
    });
  });

  describe('when the worker does not hold it', () => {
    it('refuses another worker', () => {
      expect(secretAccess(task(), W2, 2)).toMatchObject({ granted: false, code: 'FORBIDDEN', reason: 'this worker does not hold the task' });
    });

    it('refuses a stale attempt, even from the same worker', () => {
      expect(secretAccess(task(), W1, 1)).toMatchObject({ granted: false, code: 'FORBIDDEN', reason: "attempt 1 is not the task's current attempt 2" });
    });

    it.each(['queued', 'succeeded', 'failed', 'timed_out', 'cancelled'] as const)('refuses once the task is %s', (status) => {
      expect(secretAccess(task({ status }), W1, 2)).toMatchObject({ granted: false, code: 'FORBIDDEN' });
    });

    it('answers NOT_FOUND for an absent or deleted task', () => {
      expect(secretAccess(initialState(), W1, 1)).toMatchObject({ granted: false, code: 'NOT_FOUND' });
      expect(secretAccess(task({ deleted: true }), W1, 2)).toMatchObject({ granted: false, code: 'NOT_FOUND' });
    });
  });
});

describe('Artifact upload access to a task', () => {
  it.each(['assigned', 'running'] as const)('lets the worker holding the current attempt upload while %s', (status) => {
    expect(artifactUploadAccess(task({ status }), W1, 2)).toEqual({ granted: true, ownerId: 'alice' });
  });

  it('refuses another worker, a stale attempt and a finished task, and hides an absent one', () => {
    expect(artifactUploadAccess(task(), W2, 2)).toMatchObject({ granted: false, code: 'FORBIDDEN', reason: 'this worker does not hold the task' });
    expect(artifactUploadAccess(task(), W1, 3)).toMatchObject({ granted: false, code: 'FORBIDDEN' });
    expect(artifactUploadAccess(task({ status: 'succeeded' }), W1, 2)).toMatchObject({
      granted: false,
      code: 'FORBIDDEN',
      reason: 'the task is succeeded; logs and artifacts are stored only for a live attempt (upload them before reporting it finished)',
    });
    expect(artifactUploadAccess(task({ deleted: true }), W1, 2)).toMatchObject({ granted: false, code: 'NOT_FOUND' });
  });
});

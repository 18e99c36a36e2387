import { eventSubject, kebab, commandSubject, workSubjects, deadLetterSubject } from './subjects';

describe('subjects', () => {
  it('kebab-cases event and command names', () => {
    expect(kebab('TaskQueued')).toBe('task-queued');
    expect(kebab('RefreshTokenReuseDetected')).toBe('refresh-token-reuse-detected');
    expect(commandSubject('tasks', 'CancelTask')).toBe('tasks.commands.cancel-task');
  });
  it('puts the entity key last so consumers and permissions can filter by it', () => {
    expect(eventSubject('tasks', 'TaskQueued', 'abc-1')).toBe('tasks.events.task-queued.abc-1');
    expect(workSubjects.assign('w_1')).toBe('work.assign.w_1');
  });
  it('refuses keys that would change the subject shape', () => {
    expect(() => workSubjects.assign('a.b')).toThrow('not a valid subject token');
    expect(() => eventSubject('tasks', 'TaskQueued', '>')).toThrow();
  });
  it('keeps dead letters outside every context stream', () => {
    expect(deadLetterSubject('TASKS', 'allocation')).toBe('dlq.TASKS.allocation');
  });
});

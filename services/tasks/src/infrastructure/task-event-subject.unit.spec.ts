import type { Envelope } from '@agentyard/contracts';
import { taskEventSubject } from './task-event-subject';

const event = (type: string, data: Record<string, unknown>): Envelope => ({
  id: 'e1',
  type,
  version: 1,
  streamId: `task-${String(data.taskId)}`,
  streamVersion: 1,
  occurredAt: new Date(0).toISOString(),
  data,
  metadata: { correlationId: 'c', causationId: 'c' },
});

describe('A task event subject', () => {
  it('ends with the task id for a task submitted directly', () => {
    expect(taskEventSubject(event('TaskStarted', { taskId: 't-1', workerId: 'w', attempt: 1, startedAt: '' }))).toBe('tasks.events.task-started.t-1');
  });

  it('ends with the task id and its run id when the event names the run, so the run can consume only its own tasks', () => {
    expect(taskEventSubject(event('TaskSucceeded', { taskId: 't-1', runId: 'r-9' }))).toBe('tasks.events.task-succeeded.t-1.r-9');
    expect(taskEventSubject(event('TaskQueued', { taskId: 't-1', attempt: 1 }))).toBe('tasks.events.task-queued.t-1');
  });
});

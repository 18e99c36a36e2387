import { describe, expect, it } from 'vitest';
import { envelope, task } from '@/test/fake-server';
import { applyTaskEvent, describeEvent, isTerminal, statusLabels, taskFromCreated, taskStatuses } from './task-events';

describe('applyTaskEvent', () => {
  it('follows a task from queued to succeeded', () => {
    let t = task({ version: 2 });
    t = applyTaskEvent(t, envelope('TaskAssigned', { taskId: 't-1', workerId: 'w-9', attempt: 1 }, 3));
    expect(t).toMatchObject({ status: 'assigned', workerId: 'w-9', version: 3 });
    t = applyTaskEvent(t, envelope('TaskStarted', { taskId: 't-1', workerId: 'w-9', attempt: 1, startedAt: '2026-11-01T10:00:04.000Z' }, 4));
    expect(t).toMatchObject({ status: 'running', startedAt: '2026-11-01T10:00:04.000Z' });
    t = applyTaskEvent(
      t,
      envelope('TaskSucceeded', { taskId: 't-1', attempt: 1, workerId: 'w-9', result: { exitCode: 0, outputTail: 'done', durationMs: 5 } }, 5),
    );
    expect(t).toMatchObject({ status: 'succeeded', progress: 100, finishedAt: '2026-11-01T10:00:05.000Z', result: { outputTail: 'done' } });
  });

  it('ignores events already applied and events of other tasks', () => {
    const t = task({ version: 5, status: 'running' });
    expect(applyTaskEvent(t, envelope('TaskQueued', { taskId: 't-1', attempt: 1 }, 5))).toBe(t);
    expect(applyTaskEvent(t, envelope('TaskCancelled', { taskId: 'other' }, 9))).toBe(t);
  });

  it('clears the worker and result when a task is queued again', () => {
    const t = task({ version: 5, status: 'failed', workerId: 'w-1', result: { exitCode: 1, outputTail: '', durationMs: 1 } });
    expect(applyTaskEvent(t, envelope('TaskQueued', { taskId: 't-1', attempt: 2, reason: 'retried' }, 6))).toMatchObject({
      status: 'queued',
      attempt: 2,
      workerId: null,
      result: null,
    });
  });

  it('builds a row from TaskCreated', () => {
    const row = taskFromCreated(
      envelope('TaskCreated', { taskId: 'n', description: 'hi', tool: 'noop', input: {}, priority: 7, maxAttempts: 2, timeoutSeconds: 9, requirements: {} }, 1),
    );
    expect(row).toMatchObject({ id: 'n', status: 'queued', priority: 7, version: 1 });
  });
});

describe('statuses', () => {
  it('has a label for every status and knows which are final', () => {
    expect(taskStatuses).toHaveLength(8);
    expect(statusLabels.timed_out).toBe('Timed out');
    expect(statusLabels.budget_exceeded).toBe('Over budget');
    expect(taskStatuses.filter(isTerminal)).toEqual(['succeeded', 'failed', 'timed_out', 'cancelled', 'budget_exceeded']);
  });
});

describe('describeEvent', () => {
  it('says what happened in words', () => {
    expect(describeEvent(envelope('TaskFailed', { taskId: 'x', reason: 'exit code 2' }, 3))).toBe('Failed: exit code 2');
    expect(describeEvent(envelope('WorkerWentOffline', { workerId: 'abcdef123456', reason: 'heartbeat-silence' }, 3, 'worker-abc'))).toBe(
      'Worker abcdef12 offline (heartbeat-silence)',
    );
    expect(describeEvent(envelope('SomethingNewHappened', {}, 1, 'x-1'))).toBe('Something New Happened');
  });
});

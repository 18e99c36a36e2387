import { taskEvents } from '@agentyard/contracts';
import { evolve, initialState, toTaskView, type TaskEvent, type TaskState } from '../domain/task';
import { decide, type TaskCommand } from '../domain/task.decide';
import { activeDeltas, evolveTaskView, isActive, taskViewOf, type TaskViewRow } from './task-view.projection';

const TASK = '01900000-0000-7000-8000-0000000000aa';
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
const owner = { userId: 'user-1' };
const body = {
  description: 'build the thing',
  tool: 'claude-code' as const,
  input: { prompt: 'build it' },
  priority: 70,
  timeoutSeconds: 120,
  maxAttempts: 2,
  queueTimeoutSeconds: 600,
  heartbeatTimeoutSeconds: 30,
  requirements: { labels: ['gpu'] },
};

/** Runs commands through the decider, as the service would, and returns every event in order. */
function history(commands: Array<(now: Date) => TaskCommand>): TaskEvent[] {
  const events: TaskEvent[] = [];
  let state: TaskState = initialState();
  commands.forEach((make, step) => {
    const now = at(step);
    for (const d of decide(make(now), state)) {
      // Parsed as the runner parses what it reads from the store.
      const envelope = taskEvents.parse({
        id: `01900000-0000-7000-8000-${String(events.length).padStart(12, '0')}`,
        type: d.type,
        version: 1,
        streamId: `task-${TASK}`,
        streamVersion: events.length + 1,
        occurredAt: now.toISOString(),
        data: d.data,
        metadata: { correlationId: 'c', causationId: 'c' },
      });
      events.push(envelope);
      state = evolve(state, envelope);
    }
  });
  return events;
}

const project = (events: TaskEvent[], from: TaskViewRow | null = null): TaskViewRow | null => events.reduce(evolveTaskView, from);

const lifecycle = history([
  (now) => ({ kind: 'CreateTask', taskId: TASK, actor: owner, task: body, now }),
  (now) => ({ kind: 'UpdateTask', actor: owner, patch: { priority: 90 }, now }),
  (now) => ({ kind: 'AssignTask', allocationId: 'a1', attempt: 1, workerId: 'w1', leaseMs: 30_000, now }),
  (now) => ({ kind: 'RequeueTask', reason: 'worker-lost', attempt: 1, workerId: 'w1', now }),
  (now) => ({ kind: 'AssignTask', allocationId: 'a2', attempt: 2, workerId: 'w2', leaseMs: 30_000, now }),
  (now) => ({ kind: 'ReportStarted', attempt: 1, workerId: 'w1', now }),
  (now) => ({ kind: 'ReportStarted', attempt: 2, workerId: 'w2', now }),
  (now) => ({ kind: 'ReportStalled', attempt: 2, workerId: 'w2', silentSeconds: 30, at: now.toISOString(), now }),
  (now) => ({ kind: 'ReportStalled', attempt: 1, workerId: 'w1', silentSeconds: 30, at: now.toISOString(), now }),
  (now) => ({ kind: 'ReportFinished', attempt: 2, workerId: 'w2', outcome: 'failed', result: { exitCode: 1, outputTail: 'no', durationMs: 5 }, now }),
  (now) => ({ kind: 'RetryTask', actor: owner, now }),
  (now) => ({ kind: 'CancelTask', actor: owner, now }),
  (now) => ({ kind: 'DeleteTask', actor: owner, now }),
]);

describe('task_view projection', () => {
  describe('when it folds a task through its whole life', () => {
    it('shows, after every event, exactly what the decider’s own fold shows', () => {
      let state = initialState();
      let row: TaskViewRow | null = null;
      for (const event of lifecycle) {
        state = evolve(state, event);
        row = evolveTaskView(row, event);
        expect(row && taskViewOf(row)).toEqual(toTaskView(state));
        expect(row?.deleted).toBe(state.deleted);
      }
      expect(lifecycle.map((e) => e.type)).toContain('TaskReportRejected');
      expect(lifecycle.map((e) => e.type)).toContain('TaskStalled');
    });

    it('keeps what the scanner and the pull query need: lease, queue time, backoff, heartbeat timeout', () => {
      const assignedAt = lifecycle.findIndex((e) => e.type === 'TaskAssigned');
      const assigned = project(lifecycle.slice(0, assignedAt + 1));
      expect(assigned).toMatchObject({
        status: 'assigned',
        workerId: 'w1',
        leaseExpiresAt: new Date(T0 + 2000 + 30_000).toISOString(),
        heartbeatTimeoutSeconds: 30,
      });
      const requeuedAt = lifecycle.findIndex((e) => e.type === 'TaskQueued' && e.data.reason === 'requeued');
      const requeued = project(lifecycle.slice(0, requeuedAt + 1));
      expect(requeued).toMatchObject({
        status: 'queued',
        attempt: 2,
        workerId: null,
        leaseExpiresAt: null,
        queuedAt: at(3).toISOString(),
        notBefore: at(4).toISOString(),
      });
    });
  });

  describe('when an event is applied twice (a replayed batch)', () => {
    it('changes nothing the second time', () => {
      const once = project(lifecycle);
      expect(project(lifecycle, once)).toEqual(once);
      const half = project(lifecycle.slice(0, 6));
      expect(project(lifecycle.slice(3), half)).toEqual(once);
    });
  });

  describe('when an event arrives for a task it has no row for', () => {
    it('ignores it unless it is TaskCreated', () => {
      expect(evolveTaskView(null, lifecycle[1]!)).toBeNull();
      expect(evolveTaskView(null, lifecycle[0]!)).toMatchObject({ id: TASK, status: 'queued', attempt: 0, version: 1 });
    });
  });

  describe('when a stale report is rejected', () => {
    it('records the stream version but not a change of status', () => {
      const i = lifecycle.findIndex((e) => e.type === 'TaskReportRejected');
      const before = project(lifecycle.slice(0, i))!;
      const after = project(lifecycle.slice(0, i + 1))!;
      expect(after).toEqual({ ...before, version: before.version + 1, updatedAt: lifecycle[i]!.occurredAt });
    });
  });
});

describe('each owner’s unfinished count', () => {
  it('follows the rows through a whole life: +1 created, unchanged while assigned or running, −1 at the end, again with a retry', () => {
    let row: TaskViewRow | null = null;
    let active = 0;
    const seen: number[] = [];
    for (const event of lifecycle) {
      const next = evolveTaskView(row, event);
      if (next !== null && next !== row) for (const d of activeDeltas([{ before: row, after: next }])) active += d.delta;
      row = next;
      seen.push(active);
    }
    expect(active).toBe(0);
    expect(Math.max(...seen)).toBe(1);
    expect(Math.min(...seen)).toBe(0);
    // A repeated event changes no row, so it counts nothing.
    expect(evolveTaskView(row, lifecycle[0]!)).toBe(row);
  });

  it('sums a batch per owner, leaves out owners it did not change, in owner order', () => {
    const queued = project(lifecycle.slice(0, 1))!;
    const other = { ...queued, id: 'b', ownerId: 'user-0' };
    const done = { ...queued, status: 'succeeded' as const };
    expect(
      activeDeltas([
        { before: null, after: queued },
        { before: null, after: { ...queued, id: 'c' } },
        { before: other, after: { ...other, status: 'failed' as const } },
        { before: queued, after: { ...queued, status: 'running' as const } },
        { before: null, after: { ...queued, id: 'd', ownerId: 'user-2' } },
        { before: { ...queued, id: 'd', ownerId: 'user-2' }, after: { ...queued, id: 'd', ownerId: 'user-2', deleted: true } },
        { before: queued, after: done },
      ]),
    ).toEqual([
      { ownerId: 'user-0', delta: -1 },
      { ownerId: 'user-1', delta: 1 },
    ]);
    expect(isActive(null)).toBe(false);
    expect(isActive({ ...queued, status: 'assigned' })).toBe(true);
    expect(isActive({ ...queued, deleted: true })).toBe(false);
  });
});

import type { TaskResult } from '@agentyard/contracts';
import { deciderSpec, type GivenEvent } from '@agentyard/event-sourcing';
import { toTaskView, type TaskEvent, type TaskEventData, type TaskEventType, type TaskState } from './task';
import { MAX_STALL_RESTARTS, requeueBackoffSeconds, taskDecider, type DecidedTaskEvent, type TaskCommand } from './task.decide';

// --- given / when / then ----------------------------------------------------------------------

const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
const isoAt = (seconds: number): string => at(seconds).toISOString();

const TASK = '01900000-0000-7000-8000-000000000001';
const OWNER = 'user-1';
const OTHER = 'user-2';
const W1 = 'worker-1';
const W2 = 'worker-2';

const spec = deciderSpec(taskDecider, { streamId: `task-${TASK}`, occurredAt: isoAt(0) });
const ev = <T extends TaskEventType>(type: T, data: TaskEventData[T]): DecidedTaskEvent => ({ type, data }) as DecidedTaskEvent;
/** A fact that happened at `seconds` after T0. */
const atSecond = (seconds: number, event: DecidedTaskEvent): GivenEvent<TaskEvent> => ({ event, occurredAt: isoAt(seconds) });
const given = (...facts: Array<DecidedTaskEvent | GivenEvent<TaskEvent>>) => spec.given(...facts);
const fold = (facts: Array<DecidedTaskEvent | GivenEvent<TaskEvent>>): TaskState => given(...facts).state;

// --- facts and commands -----------------------------------------------------------------------

const body = {
  description: 'say hello',
  tool: 'shell' as const,
  input: { command: 'echo hello' } as Record<string, unknown>,
  priority: 50,
  timeoutSeconds: 60,
  maxAttempts: 3,
  queueTimeoutSeconds: 300,
  heartbeatTimeoutSeconds: 30,
  requirements: {},
};
const result: TaskResult = { exitCode: 0, outputTail: 'hello\n', durationMs: 12 };
const failure: TaskResult = { exitCode: 2, outputTail: 'boom\n', durationMs: 7 };

const created = (overrides: Partial<typeof body> = {}) => ev('TaskCreated', { taskId: TASK, ownerId: OWNER, ...body, ...overrides });
const queued = (attempt = 1, reason: 'created' | 'requeued' | 'retried' = 'created', notBefore?: string) =>
  ev('TaskQueued', notBefore ? { taskId: TASK, attempt, reason, notBefore } : { taskId: TASK, attempt, reason });
const assigned = (attempt = 1, workerId = W1, leaseExpiresAt = isoAt(30)) =>
  ev('TaskAssigned', { taskId: TASK, workerId, attempt, allocationId: `alloc-${attempt}`, leaseExpiresAt });
const started = (attempt = 1, workerId = W1, startedAt = isoAt(1)) => ev('TaskStarted', { taskId: TASK, workerId, attempt, startedAt });
const succeeded = (attempt = 1, workerId = W1) => ev('TaskSucceeded', { taskId: TASK, attempt, workerId, result });
const failed = (attempt = 1, workerId: string | null = W1, reason = 'exited with code 2') =>
  ev('TaskFailed', { taskId: TASK, attempt, workerId, result: workerId ? failure : null, reason });
const timedOut = (attempt = 1, kind: 'queue' | 'run' = 'run', workerId: string | null = W1) => ev('TaskTimedOut', { taskId: TASK, attempt, kind, workerId });
const cancelled = (attempt = 1, workerId: string | null = null, byUserId = OWNER) => ev('TaskCancelled', { taskId: TASK, attempt, workerId, byUserId });
const requeued = (
  fromAttempt = 1,
  reason: 'lease-expired' | 'worker-lost' | 'handed-back' | 'heartbeat-silence' | 'stalled' = 'worker-lost',
  workerId: string | null = W1,
) => ev('TaskRequeued', { taskId: TASK, fromAttempt, reason, workerId });
const rejected = (attempt: number, currentAttempt: number, workerId: string, report: 'started' | 'result' | 'stalled', reason: string) =>
  ev('TaskReportRejected', { taskId: TASK, attempt, currentAttempt, workerId, report, reason });
const deleted = () => ev('TaskDeleted', { taskId: TASK, byUserId: OWNER });
const stalledEvent = (action: 'notify' | 'restart' | 'fail', attempt = 1, seconds = 8, workerId = W1) =>
  ev('TaskStalled', { taskId: TASK, attempt, workerId, silentSeconds: 60, action, at: isoAt(seconds) });

const owner = { userId: OWNER };
const stranger = { userId: OTHER };
const now = at(10);

const assign = (attempt = 1, workerId = W1, when = now): TaskCommand => ({
  kind: 'AssignTask',
  allocationId: `alloc-${attempt}`,
  attempt,
  workerId,
  leaseMs: 30_000,
  now: when,
});
const reportStarted = (attempt = 1, workerId = W1): TaskCommand => ({ kind: 'ReportStarted', attempt, workerId, now });
const reportFinished = (
  outcome: 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'handed_back',
  attempt = 1,
  workerId = W1,
  r: TaskResult = result,
): TaskCommand => ({
  kind: 'ReportFinished',
  attempt,
  workerId,
  outcome,
  result: r,
  now,
});
const reportStalled = (attempt = 1, workerId = W1, seconds = 8): TaskCommand => ({
  kind: 'ReportStalled',
  attempt,
  workerId,
  silentSeconds: 60,
  at: isoAt(seconds),
  now,
});
const requeue = (reason: 'lease-expired' | 'worker-lost' | 'handed-back' | 'heartbeat-silence', attempt = 1, workerId = W1, when = now): TaskCommand => ({
  kind: 'RequeueTask',
  reason,
  attempt,
  workerId,
  now: when,
});

const lifecycles = {
  queued: [created(), queued()],
  assigned: [created(), queued(), assigned()],
  running: [created(), queued(), assigned(), started()],
  succeeded: [created(), queued(), assigned(), started(), succeeded()],
  failed: [created(), queued(), assigned(), started(), failed()],
  timedOut: [created(), queued(), assigned(), started(), timedOut()],
  cancelled: [created(), queued(), cancelled()],
};

// --- specs ------------------------------------------------------------------------------------

describe('Task', () => {
  describe('when it is created', () => {
    it('records the task and queues its first attempt', () => {
      given()
        .when({ kind: 'CreateTask', taskId: TASK, actor: owner, task: body, now })
        .then([created(), queued(1, 'created')]);
    });

    it('refuses a second create on the same id', () => {
      given(...lifecycles.queued)
        .when({ kind: 'CreateTask', taskId: TASK, actor: owner, task: body, now })
        .thenThrows('CONFLICT');
    });

    describe('with an Idempotency-Key', () => {
      const key = { key: 'retry-me', requestHash: 'hash-of-the-request' };
      const keyed = () => ev('TaskCreated', { taskId: TASK, ownerId: OWNER, ...body, idempotency: key });
      const create = (idempotency: { key: string; requestHash: string }, actor = owner) => ({
        kind: 'CreateTask' as const,
        taskId: TASK,
        actor,
        task: body,
        now,
        idempotency,
      });

      it('records the key and the request’s hash in TaskCreated', () => {
        given()
          .when(create(key))
          .then([keyed(), queued(1, 'created')]);
      });

      it('decides nothing when the same user repeats the same request with the same key', () => {
        given(keyed(), queued(), assigned()).when(create(key)).then([]);
      });

      it('refuses the same key with a different request (409), naming what to do', () => {
        given(keyed(), queued())
          .when(create({ ...key, requestHash: 'another-request' }))
          .thenThrows('CONFLICT', /already used for a different task request/);
      });

      it('refuses a repeat once the task it created was deleted', () => {
        given(keyed(), queued(), cancelled(), deleted())
          .when(create(key))
          .thenThrows('CONFLICT', /has been deleted/);
      });

      it('refuses another user’s create on the id and a keyless create on a keyed task', () => {
        given(keyed(), queued())
          .when(create(key, stranger))
          .thenThrows('CONFLICT', /already exists/);
        given(keyed(), queued())
          .when({ kind: 'CreateTask', taskId: TASK, actor: owner, task: body, now })
          .thenThrows('CONFLICT', /already exists/);
      });
    });

    it('folds into a queued TaskView at attempt 1', () => {
      const { state } = given(atSecond(0, created()), atSecond(0, queued()));
      expect(toTaskView(state)).toEqual({
        id: TASK,
        ownerId: OWNER,
        description: 'say hello',
        tool: 'shell',
        input: { command: 'echo hello' },
        priority: 50,
        status: 'queued',
        attempt: 1,
        maxAttempts: 3,
        timeoutSeconds: 60,
        requirements: {},
        workerId: null,
        progress: null,
        result: null,
        createdAt: isoAt(0),
        updatedAt: isoAt(0),
        startedAt: null,
        finishedAt: null,
        version: 2,
        workflow: null,
        stalls: 0,
        stalledAt: null,
      });
    });
  });

  describe('when its owner updates it', () => {
    it('records only the fields that change while it is queued', () => {
      given(...lifecycles.queued)
        .when({ kind: 'UpdateTask', actor: owner, patch: { description: 'say hello twice', priority: 50 }, now })
        .then([ev('TaskUpdated', { taskId: TASK, description: 'say hello twice' })]);
    });

    it('records nothing when nothing changes', () => {
      given(...lifecycles.queued)
        .when({ kind: 'UpdateTask', actor: owner, patch: { priority: 50 }, now })
        .thenNothing();
    });

    it('refuses once the task has left the queue, naming its status', () => {
      given(...lifecycles.assigned)
        .when({ kind: 'UpdateTask', actor: owner, patch: { priority: 90 }, now })
        .thenThrows('CONFLICT', /task that is assigned/);
      given(...lifecycles.succeeded)
        .when({ kind: 'UpdateTask', actor: owner, patch: { priority: 90 }, now })
        .thenThrows('CONFLICT', /succeeded/);
    });
  });

  describe('when someone other than its owner acts on it', () => {
    const commands: TaskCommand[] = [
      { kind: 'UpdateTask', actor: stranger, patch: { priority: 1 }, now },
      { kind: 'CancelTask', actor: stranger, now },
      { kind: 'RetryTask', actor: stranger, now },
      { kind: 'DeleteTask', actor: stranger, now },
    ];
    it.each(commands.map((c) => [c.kind, c] as const))('answers NOT_FOUND to %s, never FORBIDDEN', (_kind, command) => {
      given(...lifecycles.failed)
        .when(command)
        .thenThrows('NOT_FOUND');
    });
  });

  describe('when the task does not exist or was deleted', () => {
    it('answers NOT_FOUND to user commands', () => {
      given().when({ kind: 'CancelTask', actor: owner, now }).thenThrows('NOT_FOUND');
      given(...lifecycles.succeeded, deleted())
        .when({ kind: 'RetryTask', actor: owner, now })
        .thenThrows('NOT_FOUND');
      given(...lifecycles.succeeded, deleted())
        .when({ kind: 'DeleteTask', actor: owner, now })
        .thenThrows('NOT_FOUND');
    });

    it('ignores commands from other services', () => {
      given().when(assign()).thenNothing();
      given().when(reportStarted()).thenNothing();
      given().when(reportFinished('succeeded')).thenNothing();
      given().when(requeue('worker-lost')).thenNothing();
      given().when({ kind: 'TimeOutTask', timeout: 'queue', attempt: 1, graceSeconds: 10, now }).thenNothing();
    });
  });

  describe('when its owner cancels it', () => {
    it('cancels a queued task with no worker to tell', () => {
      given(...lifecycles.queued)
        .when({ kind: 'CancelTask', actor: owner, now })
        .then([cancelled(1, null)]);
    });

    it('cancels an assigned or running task naming its worker, so the worker is told to stop', () => {
      given(...lifecycles.assigned)
        .when({ kind: 'CancelTask', actor: owner, now })
        .then([cancelled(1, W1)]);
      given(...lifecycles.running)
        .when({ kind: 'CancelTask', actor: owner, now })
        .then([cancelled(1, W1)]);
    });

    it.each([['succeeded'], ['failed'], ['timedOut'], ['cancelled']] as const)('refuses when the task already finished (%s)', (which) => {
      given(...lifecycles[which])
        .when({ kind: 'CancelTask', actor: owner, now })
        .thenThrows('CONFLICT', 'task already finished');
    });
  });

  describe('when its owner retries it', () => {
    it.each([['failed'], ['timedOut'], ['cancelled']] as const)('queues the next attempt of a %s task', (which) => {
      given(...lifecycles[which])
        .when({ kind: 'RetryTask', actor: owner, now })
        .then([queued(2, 'retried')]);
    });

    it.each([['queued'], ['assigned'], ['running'], ['succeeded']] as const)('refuses a %s task', (which) => {
      given(...lifecycles[which])
        .when({ kind: 'RetryTask', actor: owner, now })
        .thenThrows('CONFLICT', /only a failed, timed_out, cancelled, budget_exceeded task/);
    });

    it('raises maxAttempts so a task that ran out of attempts runs once more', () => {
      const out = [created({ maxAttempts: 1 }), queued(), assigned(), failed(1, W1, 'out of attempts')];
      given(...out)
        .when({ kind: 'RetryTask', actor: owner, now })
        .then([queued(2, 'retried')]);
      const { state } = given(...out, queued(2, 'retried'));
      expect(state).toMatchObject({ status: 'queued', attempt: 2, maxAttempts: 2, workerId: null, result: null, finishedAt: null });
    });
  });

  describe('when its owner deletes it', () => {
    it.each([['succeeded'], ['failed'], ['timedOut'], ['cancelled']] as const)('hides a %s task', (which) => {
      given(...lifecycles[which])
        .when({ kind: 'DeleteTask', actor: owner, now })
        .then([deleted()]);
    });

    it.each([['queued'], ['assigned'], ['running']] as const)('refuses a %s task', (which) => {
      given(...lifecycles[which])
        .when({ kind: 'DeleteTask', actor: owner, now })
        .thenThrows('CONFLICT', /only a succeeded, failed, timed_out, cancelled, budget_exceeded task/);
    });
  });

  describe('when allocation decides a worker', () => {
    it('assigns the queued attempt with a 30 s lease', () => {
      given(...lifecycles.queued)
        .when(assign(1, W1, at(10)))
        .then([assigned(1, W1, isoAt(40))]);
    });

    it('ignores a decision for another attempt (a stale decision)', () => {
      given(created(), queued(), assigned(), requeued(), queued(2, 'requeued', isoAt(2)))
        .when(assign(1, W2))
        .thenNothing();
    });

    it('ignores a repeated decision once the task is assigned', () => {
      given(...lifecycles.assigned)
        .when(assign(1, W1))
        .thenNothing();
      given(...lifecycles.assigned)
        .when(assign(1, W2))
        .thenNothing();
    });

    it('ignores a decision that comes before the backoff ends, and takes one after', () => {
      const backingOff = [created(), queued(), assigned(), requeued(), queued(2, 'requeued', isoAt(12))];
      given(...backingOff)
        .when(assign(2, W2, at(11)))
        .thenNothing();
      given(...backingOff)
        .when(assign(2, W2, at(12)))
        .then([assigned(2, W2, isoAt(42))]);
    });

    it('ignores a decision for a task that is no longer queued', () => {
      given(...lifecycles.cancelled)
        .when(assign(1))
        .thenNothing();
    });
  });

  describe('when its worker reports started', () => {
    it('marks the assigned attempt running at the time the report arrived', () => {
      given(...lifecycles.assigned)
        .when(reportStarted())
        .then([started(1, W1, now.toISOString())]);
    });

    it('ignores a duplicate report', () => {
      given(...lifecycles.running)
        .when(reportStarted())
        .thenNothing();
    });

    it('ignores a late report of an attempt that has ended (cancelled meanwhile)', () => {
      given(created(), queued(), assigned(), cancelled(1, W1)).when(reportStarted()).thenNothing();
    });

    it('fences off a report for a stale attempt and leaves the state as it was', () => {
      const facts = [created(), queued(), assigned(), requeued(1, 'lease-expired'), queued(2, 'requeued', isoAt(1)), assigned(2, W2)];
      given(...facts)
        .when(reportStarted(1, W1))
        .then([rejected(1, 2, W1, 'started', 'attempt 1 is not the current attempt 2')]);
      const before = given(...facts).state;
      const after = given(...facts, rejected(1, 2, W1, 'started', 'attempt 1 is not the current attempt 2')).state;
      expect({ ...after, version: 0, updatedAt: '', rejectedReports: [] }).toEqual({ ...before, version: 0, updatedAt: '', rejectedReports: [] });
    });

    it('fences off a report from a worker that does not hold the task', () => {
      given(...lifecycles.assigned)
        .when(reportStarted(1, W2))
        .then([rejected(1, 1, W2, 'started', 'attempt 1 is assigned to another worker')]);
    });

    it('fences off a report for an attempt that is queued again and held by nobody', () => {
      given(created(), queued(), assigned(), requeued(), queued(2, 'requeued', isoAt(1)))
        .when(reportStarted(2, W1))
        .then([rejected(2, 2, W1, 'started', 'attempt 2 is not assigned to any worker')]);
    });

    it('records a redelivered stale report only once', () => {
      given(...lifecycles.assigned, rejected(1, 1, W2, 'started', 'attempt 1 is assigned to another worker'))
        .when(reportStarted(1, W2))
        .thenNothing();
    });
  });

  describe('when its worker reports a result', () => {
    it('records success with the result', () => {
      given(...lifecycles.running)
        .when(reportFinished('succeeded'))
        .then([succeeded()]);
    });

    it('records failure with the tool error or exit code as the reason', () => {
      given(...lifecycles.running)
        .when(reportFinished('failed', 1, W1, failure))
        .then([failed(1, W1, 'exited with code 2')]);
      given(...lifecycles.running)
        .when(reportFinished('failed', 1, W1, { ...failure, error: 'tool not installed' }))
        .then([
          ev('TaskFailed', { taskId: TASK, attempt: 1, workerId: W1, result: { ...failure, error: 'tool not installed' }, reason: 'tool not installed' }),
        ]);
    });

    it('records a run timeout the agent enforced', () => {
      given(...lifecycles.running)
        .when(reportFinished('timed_out'))
        .then([timedOut(1, 'run', W1)]);
    });

    it('records a cancel the agent made on its own, naming the worker', () => {
      given(...lifecycles.running)
        .when(reportFinished('cancelled'))
        .then([cancelled(1, W1, `worker:${W1}`)]);
    });

    it('accepts a result whose started report never came', () => {
      given(...lifecycles.assigned)
        .when(reportFinished('succeeded'))
        .then([succeeded()]);
    });

    it('requeues a task the worker handed back (full or draining)', () => {
      given(...lifecycles.assigned)
        .when(reportFinished('handed_back'))
        .then([requeued(1, 'handed-back', W1), queued(2, 'requeued', new Date(now.getTime() + 1000).toISOString())]);
    });

    it('fails a task handed back on its last attempt', () => {
      given(created({ maxAttempts: 1 }), queued(), assigned())
        .when(reportFinished('handed_back'))
        .then([ev('TaskFailed', { taskId: TASK, attempt: 1, workerId: W1, result: null, reason: 'out of attempts: attempt 1 of 1 ended by handed-back' })]);
    });

    it('ignores a duplicate result', () => {
      given(...lifecycles.succeeded)
        .when(reportFinished('succeeded'))
        .thenNothing();
    });

    it('ignores the worker confirming a cancel the owner made', () => {
      given(created(), queued(), assigned(), started(), cancelled(1, W1)).when(reportFinished('cancelled')).thenNothing();
    });

    it('fences off a result for a stale attempt', () => {
      given(created(), queued(), assigned(), started(), requeued(1, 'worker-lost'), queued(2, 'requeued', isoAt(1)), assigned(2, W1), started(2, W1))
        .when(reportFinished('succeeded', 1, W1))
        .then([rejected(1, 2, W1, 'result', 'attempt 1 is not the current attempt 2')]);
    });

    it('fences off a result from another worker', () => {
      given(...lifecycles.running)
        .when(reportFinished('succeeded', 1, W2))
        .then([rejected(1, 1, W2, 'result', 'attempt 1 is assigned to another worker')]);
    });

    it('fences off a result for an attempt that was retried after it finished', () => {
      given(...lifecycles.failed, queued(2, 'retried'))
        .when(reportFinished('succeeded', 1, W1))
        .then([rejected(1, 2, W1, 'result', 'attempt 1 is not the current attempt 2')]);
    });
  });

  describe('when its worker reports the attempt stalled', () => {
    const watched = (action: 'notify' | 'restart' | 'fail', maxAttempts = 3) =>
      created({ maxAttempts, input: { command: 'sleep 1000', watchdog: { stallSeconds: 60, action } } });

    it("records the stall with the task's own action: notify and fail change nothing else", () => {
      given(watched('notify'), queued(), assigned(), started())
        .when(reportStalled())
        .then([stalledEvent('notify')]);
      // The worker stops a `fail` task itself; its failed result follows.
      given(watched('fail'), queued(), assigned(), started())
        .when(reportStalled())
        .then([stalledEvent('fail')]);
    });

    it("only notifies when the task has no policy (the worker's default flagged it)", () => {
      given(...lifecycles.running)
        .when(reportStalled())
        .then([stalledEvent('notify')]);
    });

    it('requeues a task whose policy is restart as the next attempt (the old attempt is cancelled by the dispatcher)', () => {
      given(watched('restart'), queued(), assigned(), started())
        .when(reportStalled())
        .then([stalledEvent('restart'), requeued(1, 'stalled', W1), queued(2, 'requeued', isoAt(11))]);
    });

    it(`fails the task instead of restarting it a ${MAX_STALL_RESTARTS + 1}th time for stalls`, () => {
      const restarts = Array.from({ length: MAX_STALL_RESTARTS }, (_, i) => [
        stalledEvent('restart', i + 1, 8),
        requeued(i + 1, 'stalled', W1),
        queued(i + 2, 'requeued', isoAt(9)),
        assigned(i + 2, W1),
        started(i + 2, W1),
      ]).flat();
      const last = MAX_STALL_RESTARTS + 1;
      given(watched('restart', 10), queued(), assigned(), started(), ...restarts)
        .when(reportStalled(last))
        .then([
          stalledEvent('restart', last),
          ev('TaskFailed', {
            taskId: TASK,
            attempt: last,
            workerId: W1,
            result: null,
            reason: `stalled: no output, CPU or file change for 60 s; restarted ${MAX_STALL_RESTARTS} times for stalls already`,
          }),
        ]);
    });

    it('fails a restart that has no attempt left, like any requeue', () => {
      given(watched('restart', 1), queued(), assigned(), started())
        .when(reportStalled())
        .then([
          stalledEvent('restart'),
          ev('TaskFailed', { taskId: TASK, attempt: 1, workerId: W1, result: null, reason: 'out of attempts: attempt 1 of 1 ended by stalled' }),
        ]);
    });

    it('records a repeated or older report of the same stall once', () => {
      given(watched('notify'), queued(), assigned(), started(), stalledEvent('notify', 1, 8))
        .when(reportStalled(1, W1, 8))
        .thenNothing();
      given(watched('notify'), queued(), assigned(), started(), stalledEvent('notify', 1, 8))
        .when(reportStalled(1, W1, 7))
        .thenNothing();
      // A later stall of the same attempt (it showed activity in between) is a new one.
      given(watched('notify'), queued(), assigned(), started(), stalledEvent('notify', 1, 8))
        .when(reportStalled(1, W1, 90))
        .then([stalledEvent('notify', 1, 90)]);
    });

    it('fences off a report from a stale attempt or another worker, recorded once, and restarts nothing', () => {
      const moved = [
        watched('restart'),
        queued(),
        assigned(),
        started(),
        requeued(1, 'worker-lost'),
        queued(2, 'requeued', isoAt(1)),
        assigned(2, W2),
        started(2, W2),
      ];
      given(...moved)
        .when(reportStalled(1, W1))
        .then([rejected(1, 2, W1, 'stalled', 'attempt 1 is not the current attempt 2')]);
      given(...moved, rejected(1, 2, W1, 'stalled', 'attempt 1 is not the current attempt 2'))
        .when(reportStalled(1, W1, 20))
        .thenNothing();
      given(watched('restart'), queued(), assigned(), started())
        .when(reportStalled(1, W2))
        .then([rejected(1, 1, W2, 'stalled', 'attempt 1 is assigned to another worker')]);
    });

    it('ignores a late report once the task has ended', () => {
      given(watched('restart'), queued(), assigned(), started(), failed()).when(reportStalled()).thenNothing();
    });

    it('shows the stall count and when the current attempt stalled, until the next attempt', () => {
      const state = fold([watched('notify'), queued(), assigned(), started(), stalledEvent('notify', 1, 8)]);
      expect(toTaskView(state)).toMatchObject({ stalls: 1, stalledAt: isoAt(8) });
      const next = fold([watched('restart'), queued(), assigned(), started(), stalledEvent('restart', 1, 8), requeued(1, 'stalled'), queued(2, 'requeued')]);
      expect(toTaskView(next)).toMatchObject({ stalls: 1, stalledAt: null, attempt: 2 });
    });
  });

  describe('when its worker is lost', () => {
    it('requeues a running task with the next attempt and a 1 s backoff', () => {
      given(...lifecycles.running)
        .when(requeue('worker-lost', 1, W1, at(10)))
        .then([requeued(1, 'worker-lost', W1), queued(2, 'requeued', isoAt(11))]);
    });

    it('requeues an assigned task too', () => {
      given(...lifecycles.assigned)
        .when(requeue('heartbeat-silence', 1, W1, at(10)))
        .then([requeued(1, 'heartbeat-silence', W1), queued(2, 'requeued', isoAt(11))]);
    });

    it('doubles the backoff with each attempt', () => {
      given(created(), queued(), assigned(), requeued(), queued(2, 'requeued', isoAt(1)), assigned(2, W2))
        .when(requeue('worker-lost', 2, W2, at(10)))
        .then([requeued(2, 'worker-lost', W2), queued(3, 'requeued', isoAt(12))]);
      expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(requeueBackoffSeconds)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
    });

    it('fails the task when no attempt is left', () => {
      given(created({ maxAttempts: 2 }), queued(), assigned(), requeued(), queued(2, 'requeued', isoAt(1)), assigned(2, W2), started(2, W2))
        .when(requeue('worker-lost', 2, W2))
        .then([ev('TaskFailed', { taskId: TASK, attempt: 2, workerId: W2, result: null, reason: 'out of attempts: attempt 2 of 2 ended by worker-lost' })]);
    });

    it('ignores the loss of a worker that no longer holds the task', () => {
      given(...lifecycles.running)
        .when(requeue('worker-lost', 1, W2))
        .thenNothing();
      given(created(), queued(), assigned(), requeued(), queued(2, 'requeued', isoAt(1)), assigned(2, W2))
        .when(requeue('worker-lost', 1, W1))
        .thenNothing();
    });

    it('keeps a task assigned to the worker after it was declared lost (a late or flapping WorkerWentOffline)', () => {
      const facts = [created(), queued(), atSecond(5, assigned())];
      given(...facts)
        .when({ kind: 'RequeueTask', reason: 'worker-lost', attempt: 1, workerId: W1, workerLostAt: at(4), now: at(10) })
        .thenNothing();
      given(...facts)
        .when({ kind: 'RequeueTask', reason: 'worker-lost', attempt: 1, workerId: W1, workerLostAt: at(5), now: at(10) })
        .then([requeued(1, 'worker-lost', W1), queued(2, 'requeued', isoAt(11))]);
    });

    it('ignores a task that is queued or finished', () => {
      given(created(), queued(), assigned(), requeued(), queued(2, 'requeued', isoAt(1)))
        .when(requeue('worker-lost', 2, W1))
        .thenNothing();
      given(...lifecycles.succeeded)
        .when(requeue('worker-lost'))
        .thenNothing();
    });
  });

  describe('when its lease expires', () => {
    it('requeues an assigned task whose worker never reported started', () => {
      given(created(), queued(), assigned(1, W1, isoAt(30)))
        .when(requeue('lease-expired', 1, W1, at(30)))
        .then([requeued(1, 'lease-expired', W1), queued(2, 'requeued', isoAt(31))]);
    });

    it('does nothing before the lease ends', () => {
      given(created(), queued(), assigned(1, W1, isoAt(30)))
        .when(requeue('lease-expired', 1, W1, at(29)))
        .thenNothing();
    });

    it('does nothing once the task is running (the started report won the race)', () => {
      given(created(), queued(), assigned(1, W1, isoAt(30)), started())
        .when(requeue('lease-expired', 1, W1, at(60)))
        .thenNothing();
    });
  });

  describe('when it waits in the queue too long', () => {
    const waiting = [atSecond(0, created({ queueTimeoutSeconds: 300 })), atSecond(0, queued())];
    it('times it out once queueTimeoutSeconds have passed since it was queued', () => {
      given(...waiting)
        .when({ kind: 'TimeOutTask', timeout: 'queue', attempt: 1, graceSeconds: 10, now: at(300) })
        .then([timedOut(1, 'queue', null)]);
    });

    it('does nothing before that', () => {
      given(...waiting)
        .when({ kind: 'TimeOutTask', timeout: 'queue', attempt: 1, graceSeconds: 10, now: at(299) })
        .thenNothing();
    });

    it('counts from the latest time it was queued', () => {
      given(...waiting, atSecond(100, assigned()), atSecond(200, requeued(1, 'lease-expired')), atSecond(200, queued(2, 'requeued', isoAt(201))))
        .when({ kind: 'TimeOutTask', timeout: 'queue', attempt: 2, graceSeconds: 10, now: at(400) })
        .thenNothing();
    });

    it('does nothing once the task was assigned', () => {
      given(...waiting, assigned())
        .when({ kind: 'TimeOutTask', timeout: 'queue', attempt: 1, graceSeconds: 10, now: at(1000) })
        .thenNothing();
    });
  });

  describe('when it runs too long', () => {
    const running = [created({ timeoutSeconds: 60 }), queued(), assigned(), started(1, W1, isoAt(0))];
    it('times it out after timeoutSeconds plus the grace, naming the worker', () => {
      given(...running)
        .when({ kind: 'TimeOutTask', timeout: 'run', attempt: 1, graceSeconds: 10, now: at(70) })
        .then([timedOut(1, 'run', W1)]);
    });

    it('leaves the agent its grace to report the timeout itself', () => {
      given(...running)
        .when({ kind: 'TimeOutTask', timeout: 'run', attempt: 1, graceSeconds: 10, now: at(69) })
        .thenNothing();
    });

    it('does nothing for a finished task or another attempt', () => {
      given(...running, succeeded())
        .when({ kind: 'TimeOutTask', timeout: 'run', attempt: 1, graceSeconds: 10, now: at(1000) })
        .thenNothing();
      given(...running)
        .when({ kind: 'TimeOutTask', timeout: 'run', attempt: 2, graceSeconds: 10, now: at(1000) })
        .thenNothing();
    });
  });

  describe('when its whole life is folded', () => {
    it('shows the last attempt, its worker and its result', () => {
      const { state } = given(
        atSecond(0, created()),
        atSecond(0, queued()),
        atSecond(1, assigned(1, W1)),
        atSecond(2, requeued(1, 'worker-lost')),
        atSecond(2, queued(2, 'requeued', isoAt(3))),
        atSecond(4, assigned(2, W2)),
        atSecond(5, started(2, W2, isoAt(5))),
        atSecond(9, succeeded(2, W2)),
      );
      expect(toTaskView(state)).toMatchObject({
        status: 'succeeded',
        attempt: 2,
        workerId: W2,
        result,
        progress: 100,
        startedAt: isoAt(5),
        finishedAt: isoAt(9),
        updatedAt: isoAt(9),
        version: 8,
      });
    });
  });
  describe('when a workflow run created it', () => {
    const ref = { runId: 'run-1', nodeId: 'test', iteration: 0, generation: 0 };
    const nodeTask = {
      description: 'run the tests',
      tool: 'shell' as const,
      input: { command: 'npm test' },
      priority: 50,
      timeoutSeconds: 60,
      maxAttempts: 1,
      requirements: {},
    };
    const createFromRun: TaskCommand = { kind: 'CreateWorkflowTask', taskId: TASK, ownerId: OWNER, task: nodeTask, workflow: ref, now };
    const fromRun = () =>
      ev('TaskCreated', {
        taskId: TASK,
        ownerId: OWNER,
        ...nodeTask,
        queueTimeoutSeconds: 24 * 3600,
        heartbeatTimeoutSeconds: 30,
        workflow: ref,
      });

    it('is created and queued once, for the run owner, carrying the run and node', () => {
      given().when(createFromRun).then([fromRun(), queued()]);
    });

    it('is not created again when the node event is delivered twice', () => {
      given(fromRun(), queued()).when(createFromRun).thenNothing();
    });

    it('names its run on its started and terminal events, so the run consumes only its own tasks', () => {
      given(fromRun(), queued(), assigned())
        .when(reportStarted())
        .then([ev('TaskStarted', { taskId: TASK, workerId: W1, attempt: 1, startedAt: now.toISOString(), runId: 'run-1' })]);
      given(fromRun(), queued(), assigned(), started())
        .when(reportFinished('succeeded'))
        .then([ev('TaskSucceeded', { taskId: TASK, attempt: 1, workerId: W1, result, runId: 'run-1' })]);
    });

    it('is cancelled by its run, and only by its own run', () => {
      given(fromRun(), queued(), assigned())
        .when({ kind: 'CancelWorkflowTask', runId: 'run-1', now })
        .then([ev('TaskCancelled', { taskId: TASK, attempt: 1, workerId: W1, byUserId: 'run:run-1', runId: 'run-1' })]);
      given(fromRun(), queued()).when({ kind: 'CancelWorkflowTask', runId: 'run-2', now }).thenNothing();
      given(created(), queued()).when({ kind: 'CancelWorkflowTask', runId: 'run-1', now }).thenNothing();
      given(fromRun(), queued(), assigned(), started(), succeeded()).when({ kind: 'CancelWorkflowTask', runId: 'run-1', now }).thenNothing();
    });

    it('cannot be retried outside its run (the run decides its nodes), and says how to retry the node', () => {
      given(fromRun(), queued(), assigned(), started(), failed())
        .when({ kind: 'RetryTask', actor: owner, now })
        .thenThrows('CONFLICT', /runs\/run-1\/nodes\/test\/retry/);
    });

    it('shows its run and node in the task view', () => {
      expect(toTaskView(given(fromRun(), queued()).state).workflow).toEqual(ref);
      expect(toTaskView(given(created(), queued()).state).workflow).toBeNull();
    });
  });
});

import type { Envelope, Heartbeat } from '@agentyard/contracts';
import { freesCapacity } from './live-heartbeats';
import { applyInStreamOrder, orderOf, OutOfOrderEvent, type EntityRowsIo } from './stream-order';
import { checkoutOf } from './allocation-loop';
import { evolveTask, leavesWorkersPictureAlone, parseAttemptBranch, type TaskState } from './task-state.projection';
import { evolveWorker, type WorkerState } from './worker-state.projection';

function envelope(streamId: string, streamVersion: number, type: string, data: Record<string, unknown>, occurredAt = '2026-11-29T12:00:00.000Z'): Envelope {
  return {
    id: `00000000-0000-7000-8000-${String(streamVersion).padStart(12, '0')}`,
    type,
    version: 1,
    streamId,
    streamVersion,
    occurredAt,
    data,
    metadata: { correlationId: 'corr', causationId: 'cause' },
  };
}

function foldTask(...events: [string, Record<string, unknown>][]): TaskState {
  let state: TaskState | null = null;
  events.forEach(([type, data], i) => (state = evolveTask(state, envelope('task-t1', i + 1, type, { taskId: 't1', ...data }))));
  return state!;
}

function foldWorker(...events: [string, Record<string, unknown>][]): WorkerState {
  let state: WorkerState | null = null;
  events.forEach(([type, data], i) => (state = evolveWorker(state, envelope('worker-w1', i + 1, type, { workerId: 'w1', ...data }))));
  return state!;
}

const created: [string, Record<string, unknown>] = [
  'TaskCreated',
  { ownerId: 'alice', tool: 'ollama', input: { prompt: 'hi', model: 'llama3' }, priority: 70, requirements: { labels: ['gpu'] } },
];

describe('Workspace branches (allocation view)', () => {
  const earlierId = '0193a0b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b';
  const workspace = (ref: string, push?: boolean) => ({ prompt: 'go on', workspace: { repo: 'https://git.example/r.git', ref, ...(push ? { push } : {}) } });
  const finishedWith = (pushed: boolean | undefined): [string, Record<string, unknown>] => [
    'TaskSucceeded',
    {
      attempt: 2,
      workerId: 'w2',
      result: { exitCode: 0, outputTail: '', durationMs: 1, ...(pushed === undefined ? {} : { workspace: { branch: 'agentyard/t1-2', pushed } }) },
    },
  ];

  it('remembers which worker ran each attempt, and whether its result pushed the branch', () => {
    const s = foldTask(
      created,
      ['TaskQueued', { attempt: 1, reason: 'created' }],
      ['TaskAssigned', { workerId: 'w1', attempt: 1 }],
      ['TaskRequeued', { fromAttempt: 1, reason: 'worker-lost', workerId: 'w1' }],
      ['TaskQueued', { attempt: 2, reason: 'requeued' }],
      ['TaskAssigned', { workerId: 'w2', attempt: 2 }],
      ['TaskStarted', { workerId: 'w2', attempt: 2, startedAt: '2026-11-29T12:00:01.000Z' }],
      finishedWith(true),
    );
    expect(s.attempts).toEqual({ 1: { workerId: 'w1', pushed: false }, 2: { workerId: 'w2', pushed: true } });
    const unpushed = foldTask(
      created,
      ['TaskQueued', { attempt: 2, reason: 'created' }],
      ['TaskAssigned', { workerId: 'w2', attempt: 2 }],
      finishedWith(false),
    );
    expect(unpushed.attempts).toEqual({ 2: { workerId: 'w2', pushed: false } });
    const noWorkspace = foldTask(
      created,
      ['TaskQueued', { attempt: 2, reason: 'created' }],
      ['TaskAssigned', { workerId: 'w2', attempt: 2 }],
      finishedWith(undefined),
    );
    expect(noWorkspace.attempts).toEqual({ 2: { workerId: 'w2', pushed: false } });
  });

  it('reads a workspace ref that is exactly an agent’s branch as the attempt it continues, anything else as a plain ref', () => {
    expect(foldTask(['TaskCreated', { ...created[1], input: workspace(`agentyard/${earlierId}-3`) }]).continues).toEqual({ taskId: earlierId, attempt: 3 });
    for (const ref of [
      'main',
      `agentyard/${earlierId}`,
      `agentyard/${earlierId}-0`,
      `agentyard/${earlierId}-1x`,
      'agentyard/not-a-uuid-1',
      `refs/heads/agentyard/${earlierId}-1`,
    ]) {
      expect(foldTask(['TaskCreated', { ...created[1], input: workspace(ref) }]).continues).toBeNull();
    }
    expect(foldTask(created).continues).toBeNull();
    expect(parseAttemptBranch(42)).toBeNull();
  });

  it('marks a follow-up that resumes the attempt’s tool session (resumeSession), which only that attempt’s worker keeps', () => {
    const resuming = { ...workspace(`agentyard/${earlierId}-1`), resumeSession: 'sess-1' };
    expect(foldTask(['TaskCreated', { ...created[1], input: resuming }]).continues).toEqual({ taskId: earlierId, attempt: 1, session: true });
    // A session without an agent branch continues nothing here (the agent refuses it with the reason).
    expect(foldTask(['TaskCreated', { ...created[1], input: { ...workspace('main'), resumeSession: 'sess-1' } }]).continues).toBeNull();
    const continues = { taskId: earlierId, attempt: 1, session: true };
    const earlier = new Map([[earlierId, { ownerId: 'alice', attempts: { 1: { workerId: 'w2', pushed: true } } }]]);
    expect(checkoutOf({ ownerId: 'alice', continues }, earlier)).toEqual({
      checkout: { branch: `agentyard/${earlierId}-1`, workerId: 'w2', pushed: true, session: true },
    });
  });

  describe('checkoutOf', () => {
    const continues = { taskId: earlierId, attempt: 1 };
    const earlier = (ownerId: string, pushed: boolean) => new Map([[earlierId, { ownerId, attempts: { 1: { workerId: 'w2', pushed } } }]]);
    it('says where the branch is when the follow-up’s owner owns the earlier task', () => {
      expect(checkoutOf({ ownerId: 'alice', continues }, earlier('alice', false))).toEqual({
        checkout: { branch: `agentyard/${earlierId}-1`, workerId: 'w2', pushed: false, session: false },
      });
      expect(checkoutOf({ ownerId: 'alice', continues }, earlier('alice', true)).checkout?.pushed).toBe(true);
    });
    it('says nothing about another owner’s task, an unknown task or an attempt never placed', () => {
      expect(checkoutOf({ ownerId: 'mallory', continues }, earlier('alice', false))).toEqual({});
      expect(checkoutOf({ ownerId: 'alice', continues }, new Map())).toEqual({});
      expect(checkoutOf({ ownerId: 'alice', continues: { taskId: earlierId, attempt: 2 } }, earlier('alice', false))).toEqual({});
      expect(checkoutOf({ ownerId: 'alice', continues: null }, earlier('alice', false))).toEqual({});
    });
  });
});

describe('Task state (allocation view)', () => {
  describe('when a task is created and queued', () => {
    it('is pending at that attempt, with what allocation needs to place it', () => {
      expect(foldTask(created, ['TaskQueued', { attempt: 1, reason: 'created' }])).toMatchObject({
        taskId: 't1',
        version: 2,
        ownerId: 'alice',
        tool: 'ollama',
        model: 'llama3',
        priority: 70,
        requirements: { labels: ['gpu'] },
        createdAt: '2026-11-29T12:00:00.000Z',
        status: 'pending',
        attempt: 1,
        notBefore: null,
        correlationId: 'corr',
      });
    });
  });

  describe('when it is assigned and started', () => {
    it('is placed on the worker, and remembered there for affinity', () => {
      const s = foldTask(
        created,
        ['TaskQueued', { attempt: 1 }],
        ['TaskAssigned', { workerId: 'w1', attempt: 1 }],
        ['TaskStarted', { workerId: 'w1', attempt: 1, startedAt: '2026-11-29T12:00:05.000Z' }],
      );
      expect(s).toMatchObject({ status: 'running', workerId: 'w1', boundAt: '2026-11-29T12:00:05.000Z', lastWorkerId: 'w1' });
    });
  });

  describe('when it is requeued with a backoff', () => {
    it('waits, then is pending at the next attempt not before the backoff', () => {
      const requeued = foldTask(
        created,
        ['TaskQueued', { attempt: 1 }],
        ['TaskAssigned', { workerId: 'w1', attempt: 1 }],
        ['TaskRequeued', { fromAttempt: 1 }],
      );
      expect(requeued).toMatchObject({ status: 'waiting', workerId: null, lastWorkerId: 'w1' });
      const queued = foldTask(
        created,
        ['TaskQueued', { attempt: 1 }],
        ['TaskAssigned', { workerId: 'w1', attempt: 1 }],
        ['TaskRequeued', {}],
        ['TaskQueued', { attempt: 2, notBefore: '2026-11-29T12:01:00.000Z' }],
      );
      expect(queued).toMatchObject({ status: 'pending', attempt: 2, notBefore: '2026-11-29T12:01:00.000Z', workerId: null });
    });
  });

  describe.each(['TaskSucceeded', 'TaskFailed', 'TaskTimedOut', 'TaskCancelled'])('when it ends with %s', (type) => {
    it('releases its worker slot and is no longer pending', () => {
      expect(foldTask(created, ['TaskQueued', { attempt: 1 }], ['TaskStarted', { workerId: 'w1', attempt: 1 }], [type, { attempt: 1 }])).toMatchObject({
        status: 'finished',
        workerId: null,
      });
    });
  });

  describe('when it is deleted', () => {
    it('is marked deleted', () => {
      expect(foldTask(created, ['TaskCancelled', {}], ['TaskDeleted', {}]).status).toBe('deleted');
    });
  });

  describe('when its priority is updated', () => {
    it('takes the new priority', () => {
      expect(foldTask(created, ['TaskQueued', { attempt: 1 }], ['TaskUpdated', { priority: 5 }]).priority).toBe(5);
    });
  });

  describe('when an event type it does not know arrives', () => {
    it('only advances the version', () => {
      const before = foldTask(created);
      expect(evolveTask(before, envelope('task-t1', 2, 'TaskFrobnicated', { taskId: 't1' }))).toEqual({ ...before, version: 2 });
    });
  });
});

describe("Which task events leave the workers' picture of the last pass current", () => {
  const event = (type: string, data: Record<string, unknown> = {}) => envelope('task-t1', 1, type, { taskId: 't1', ...data });

  it('a task created, or queued with nothing to wait for, leaves it (the pass counts its own decisions)', () => {
    expect(leavesWorkersPictureAlone(event('TaskCreated'))).toBe(true);
    expect(leavesWorkersPictureAlone(event('TaskQueued', { attempt: 1, reason: 'created', notBefore: null }))).toBe(true);
    expect(leavesWorkersPictureAlone(event('TaskQueued', { attempt: 1, reason: 'created' }))).toBe(true);
  });

  it.each(['TaskAssigned', 'TaskStarted', 'TaskSucceeded', 'TaskFailed', 'TaskTimedOut', 'TaskCancelled', 'TaskRequeued', 'TaskDeleted', 'TaskFrobnicated'])(
    '%s may change it (a slot taken or freed, or unknown): the next pass reads the workers again',
    (type) => expect(leavesWorkersPictureAlone(event(type))).toBe(false),
  );

  it('a task queued to wait for a time may change it (the pass schedules its wake-up)', () => {
    expect(leavesWorkersPictureAlone(event('TaskQueued', { attempt: 2, reason: 'requeued', notBefore: '2026-11-29T12:00:05.000Z' }))).toBe(false);
  });
});

describe('Worker state (allocation view)', () => {
  const registered: [string, Record<string, unknown>] = [
    'WorkerRegistered',
    { ownerId: 'xavier', tools: [{ name: 'shell', version: '5' }], slots: 2, resources: { cpus: 4, memoryMb: 8_000, diskMb: 1_000 }, labels: ['linux'] },
  ];

  describe('when a worker registers, comes online and is granted to a user', () => {
    it('knows its owner, users, tools and that it is online', () => {
      expect(
        foldWorker(
          registered,
          ['WorkerRoleGranted', { userId: 'xavier', role: 'owner' }],
          ['WorkerWentOnline', {}],
          ['WorkerRoleGranted', { userId: 'yasmin', role: 'user' }],
        ),
      ).toMatchObject({
        registered: true,
        ownerId: 'xavier',
        roles: { xavier: 'owner', yasmin: 'user' },
        tools: [{ name: 'shell', version: '5' }],
        labels: ['linux'],
        slots: 2,
        online: true,
        drained: false,
      });
    });
  });

  describe('when its owner is granted the user role', () => {
    it('stays owner', () => {
      expect(foldWorker(registered, ['WorkerRoleGranted', { userId: 'xavier', role: 'user' }]).roles.xavier).toBe('owner');
    });
  });

  describe('when it goes offline, changes tools, is drained and loses its credential', () => {
    it('records each', () => {
      expect(
        foldWorker(
          registered,
          ['WorkerWentOnline', {}],
          ['WorkerWentOffline', { reason: 'shutdown' }],
          ['WorkerToolsChanged', { tools: [] }],
          ['WorkerDrained', { byUserId: 'xavier' }],
          ['WorkerCredentialRevoked', { byUserId: 'xavier' }],
        ),
      ).toMatchObject({ online: false, tools: [], drained: true, revoked: true, version: 6 });
    });
  });

  describe('when it is drained and then resumed', () => {
    it('is placeable again', () => {
      expect(foldWorker(registered, ['WorkerDrained', { byUserId: 'xavier' }], ['WorkerResumed', { byUserId: 'xavier' }])).toMatchObject({
        drained: false,
        version: 3,
      });
    });
  });
});

describe('Stream order of projected events', () => {
  it('applies the next version, ignores a repeat, and waits on a gap', () => {
    expect(orderOf(0, 1)).toBe('apply');
    expect(orderOf(3, 4)).toBe('apply');
    expect(orderOf(3, 3)).toBe('duplicate');
    expect(orderOf(3, 1)).toBe('duplicate');
    expect(orderOf(3, 5)).toBe('gap');
    expect(orderOf(0, 2)).toBe('gap');
  });
});

describe('Applying a batch in stream order', () => {
  type Row = { id: string; version: number; seen: string[] };
  const evolve = (row: Row | null, e: Envelope): Row => ({ id: e.streamId, version: e.streamVersion, seen: [...(row?.seen ?? []), e.type] });
  /** In-memory rows; `racedIds` are inserted by "another instance" between our read and insert. */
  function memoryIo(rows: Map<string, Row>, racedIds: string[] = []): EntityRowsIo<Row> & { writes: number } {
    const io = {
      writes: 0,
      loadMany: async (ids: string[]) => new Map(ids.filter((id) => rows.has(id)).map((id) => [id, rows.get(id)!])),
      updateMany: async (states: Row[]) => {
        io.writes++;
        for (const s of states) rows.set(s.id, s);
      },
      insertMany: async (states: Row[]) => {
        io.writes++;
        const raced = new Set(states.map((s) => s.id).filter((id) => racedIds.includes(id)));
        for (const s of states) if (!raced.has(s.id)) rows.set(s.id, s);
        return raced;
      },
    };
    return io;
  }
  const at = (entityId: string, version: number, type: string) => ({ entityId, event: envelope(entityId, version, type, {}) });

  it('applies several events of one entity in order, skips duplicates, and writes once per kind', async () => {
    const rows = new Map<string, Row>([['a', { id: 'a', version: 1, seen: ['A1'] }]]);
    const io = memoryIo(rows);
    const results = await applyInStreamOrder([at('a', 1, 'A1'), at('a', 2, 'A2'), at('b', 1, 'B1'), at('a', 3, 'A3'), at('b', 2, 'B2')], io, evolve);
    expect(results).toEqual(['duplicate', 'applied', 'applied', 'applied', 'applied']);
    expect(rows.get('a')).toEqual({ id: 'a', version: 3, seen: ['A1', 'A2', 'A3'] });
    expect(rows.get('b')).toEqual({ id: 'b', version: 2, seen: ['B1', 'B2'] });
    expect(io.writes).toBe(2);
  });

  it('fails an event after a gap, and every later one of that entity, while others apply', async () => {
    const rows = new Map<string, Row>();
    const results = await applyInStreamOrder([at('a', 2, 'A2'), at('b', 1, 'B1'), at('a', 3, 'A3')], memoryIo(rows), evolve);
    expect(results[0]).toBeInstanceOf(OutOfOrderEvent);
    expect(results[1]).toBe('applied');
    expect(results[2]).toBeInstanceOf(OutOfOrderEvent);
    expect(rows.has('a')).toBe(false);
  });

  it('fails the events of an entity whose first row another instance inserted meanwhile', async () => {
    const rows = new Map<string, Row>();
    const results = await applyInStreamOrder([at('a', 1, 'A1'), at('b', 1, 'B1')], memoryIo(rows, ['a']), evolve);
    expect(results[0]).toBeInstanceOf(OutOfOrderEvent);
    expect(results[1]).toBe('applied');
  });
});

describe('Heartbeats that may free capacity', () => {
  const hb = (used: number, running: string[], draining = false): Heartbeat => ({
    workerId: 'w1',
    sentAt: '2026-11-29T12:00:00.000Z',
    cpuPercent: 0,
    memUsedMb: 0,
    memTotalMb: 1,
    diskFreeMb: 0,
    diskTotalMb: 0,
    slots: { total: 2, used },
    running: running.map((taskId) => ({ taskId, attempt: 1 })),
    tools: [],
    draining,
  });
  it('are the first one, one with a freed slot, one that stops draining, or one where a task left', () => {
    expect(freesCapacity(undefined, hb(2, ['a', 'b']))).toBe(true);
    expect(freesCapacity(hb(2, ['a', 'b']), hb(1, ['b']))).toBe(true);
    expect(freesCapacity(hb(0, [], true), hb(0, []))).toBe(true);
    expect(freesCapacity(hb(2, ['a', 'b']), hb(2, ['b', 'c']))).toBe(true);
  });
  it('are one whose agent now isolates tasks (a shared user’s task may fit it now)', () => {
    expect(freesCapacity({ ...hb(1, ['a']), isolation: 'none' }, { ...hb(1, ['a']), isolation: 'task-user' })).toBe(true);
    expect(freesCapacity({ ...hb(1, ['a']), isolation: 'bubblewrap' }, { ...hb(1, ['a']), isolation: 'bubblewrap' })).toBe(false);
  });
  it('are not a repeat of the same load or a busier one', () => {
    expect(freesCapacity(hb(1, ['a']), hb(1, ['a']))).toBe(false);
    expect(freesCapacity(hb(1, ['a']), hb(2, ['a', 'b']))).toBe(false);
  });
});

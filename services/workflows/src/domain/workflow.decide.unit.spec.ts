import { DomainError, workflowDefinitionSchema, workflowEvents } from '@agentyard/contracts';
import { decideFire, fireRunId, ON_TIME_MS, type ScheduleState } from './schedule';
import { decideWorkflow, evolveWorkflow, initialWorkflowState, type DecidedWorkflowEvent, type WorkflowCommand, type WorkflowState } from './workflow.decide';

const T0 = Date.parse('2026-12-04T12:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000);
const owner = { userId: 'u1' };
const definition = workflowDefinitionSchema.parse({ name: 'w', kind: 'sequential', steps: [{ task: { tool: 'shell', input: { command: 'true' } } }] });

function fold(events: DecidedWorkflowEvent[], from: WorkflowState = initialWorkflowState(), when = at(0)): WorkflowState {
  return events.reduce(
    (s, e, i): WorkflowState =>
      evolveWorkflow(
        s,
        workflowEvents.parse({
          id: '00000000-0000-4000-8000-000000000000',
          type: e.type,
          version: 1,
          streamId: 'workflow-w1',
          streamVersion: s.streamVersion + i + 1,
          occurredAt: when.toISOString(),
          data: e.data,
          metadata: { correlationId: 'c', causationId: 'c' },
        }),
      ),
    from,
  );
}

function run(state: WorkflowState, command: WorkflowCommand): { events: DecidedWorkflowEvent[]; state: WorkflowState } {
  const events = decideWorkflow(command, state);
  return { events, state: fold(events, state, command.now) };
}

const created = () => run(initialWorkflowState(), { kind: 'CreateWorkflow', workflowId: 'w1', actor: owner, definition, now: at(0) }).state;

describe('Workflow', () => {
  it('is created at version 1, and every save that changes it is a new version', () => {
    const s = created();
    expect(s.version).toBe(1);
    const same = run(s, { kind: 'SaveVersion', actor: owner, definition, now: at(1) });
    expect(same.events).toEqual([]);
    const changed = run(s, { kind: 'SaveVersion', actor: owner, definition: { ...definition, name: 'renamed' }, now: at(1) });
    expect(changed.events[0]).toMatchObject({ type: 'WorkflowVersionSaved', data: { version: 2 } });
    expect(changed.state.definition?.name).toBe('renamed');
  });

  it("refuses a definition that does not compile, and another user's workflow looks absent", () => {
    const bad = workflowDefinitionSchema.parse({
      name: 'g',
      kind: 'graph',
      nodes: [{ id: 'a', type: 'task', task: { tool: 'shell', input: { command: 'x' } } }],
      edges: [{ from: 'a', to: 'b' }],
    });
    expect(() => decideWorkflow({ kind: 'CreateWorkflow', workflowId: 'w2', actor: owner, definition: bad, now: at(0) }, initialWorkflowState())).toThrow(
      DomainError,
    );
    expect(() => decideWorkflow({ kind: 'PauseWorkflow', actor: { userId: 'other' }, now: at(0) }, created())).toThrow('no such workflow');
  });

  it('is not deleted while runs are active, and a deleted one accepts nothing', () => {
    const s = created();
    expect(() => decideWorkflow({ kind: 'DeleteWorkflow', actor: owner, activeRuns: 2, now: at(1) }, s)).toThrow(
      'the workflow has 2 active runs: cancel them first',
    );
    const gone = run(s, { kind: 'DeleteWorkflow', actor: owner, activeRuns: 0, now: at(1) }).state;
    expect(() => decideWorkflow({ kind: 'SaveVersion', actor: owner, definition, now: at(2) }, gone)).toThrow('no such workflow');
  });

  it('checks a schedule’s cron and time zone, naming the field', () => {
    const s = created();
    const add = (cron: string, timezone = 'UTC'): WorkflowCommand => ({
      kind: 'AddSchedule',
      actor: owner,
      scheduleId: 's1',
      schedule: { cron, timezone, overlap: 'skip', missed: 'skip', input: {} },
      now: at(0),
    });
    expect(() => decideWorkflow(add('61 * * * *'), s)).toThrow(/cron "61 \* \* \* \*".*minute/);
    expect(() => decideWorkflow(add('* * * * *', 'Mars/Base'), s)).toThrow(/timezone "Mars\/Base"/);
    expect(decideWorkflow(add('*/5 * * * * *'), s)[0]).toMatchObject({ type: 'ScheduleAdded', data: { scheduleId: 's1' } });
  });

  it('decides a fire once: the fire time becomes lastFireAt', () => {
    let s = created();
    s = run(s, {
      kind: 'AddSchedule',
      actor: owner,
      scheduleId: 's1',
      schedule: { cron: '*/5 * * * * *', timezone: 'UTC', overlap: 'skip', missed: 'skip', input: {} },
      now: at(0),
    }).state;
    const fired = run(s, { kind: 'FireSchedule', scheduleId: 's1', activeRuns: 0, now: at(5.2) });
    expect(fired.events[0]!.data).toEqual({
      workflowId: 'w1',
      scheduleId: 's1',
      fireAt: at(5).toISOString(),
      outcome: 'started',
      runId: fireRunId('s1', at(5).toISOString()),
    });
    expect(run(fired.state, { kind: 'FireSchedule', scheduleId: 's1', activeRuns: 0, now: at(5.7) }).events).toEqual([]);
  });
});

describe('decideFire', () => {
  const schedule = (overrides: Partial<ScheduleState> = {}): ScheduleState => ({
    cron: '*/10 * * * * *',
    timezone: 'UTC',
    overlap: 'skip',
    missed: 'skip',
    input: {},
    createdAt: at(0).toISOString(),
    lastFireAt: null,
    queued: null,
    ...overrides,
  });
  const ctx = { activeRuns: 0, paused: false };

  it('fires on time, nothing before the time', () => {
    expect(decideFire('s', schedule(), at(9.9), ctx)).toBeNull();
    expect(decideFire('s', schedule(), at(10.1), ctx)).toMatchObject({ fireAt: at(10).toISOString(), outcome: 'started' });
  });

  it('honours the overlap policy while a run of the schedule is active', () => {
    const busy = { activeRuns: 1, paused: false };
    expect(decideFire('s', schedule({ overlap: 'skip' }), at(10.1), busy)).toMatchObject({ outcome: 'skipped-overlap', runId: null });
    expect(decideFire('s', schedule({ overlap: 'allow' }), at(10.1), busy)).toMatchObject({ outcome: 'started' });
    expect(decideFire('s', schedule({ overlap: 'queue' }), at(10.1), busy)).toMatchObject({ outcome: 'queued' });
    expect(decideFire('s', schedule({ overlap: 'queue', queued: { fireAt: 'x', runId: 'r' } }), at(10.1), busy)).toMatchObject({ outcome: 'skipped-overlap' });
  });

  it('applies the missed-fire policy to fires seen too late (the service was down)', () => {
    const late = at(3600);
    const down = { lastFireAt: at(0).toISOString() };
    // The latest due fire (3600 s) is on time: it covers the missed ones either way.
    expect(decideFire('s', schedule(down), late, ctx)).toMatchObject({ fireAt: at(3600).toISOString(), outcome: 'started' });
    const lateBy = at(3605 + ON_TIME_MS / 1000);
    expect(decideFire('s', schedule({ ...down, cron: '0 0 * * * *' }), lateBy, ctx)).toMatchObject({
      fireAt: at(3600).toISOString(),
      outcome: 'skipped-missed',
      runId: null,
    });
    expect(decideFire('s', schedule({ ...down, cron: '0 0 * * * *', missed: 'run-once' }), lateBy, ctx)).toMatchObject({
      fireAt: at(3600).toISOString(),
      outcome: 'caught-up',
    });
  });

  it('skips fires while the workflow is paused', () => {
    expect(decideFire('s', schedule(), at(10.1), { activeRuns: 0, paused: true })).toMatchObject({ outcome: 'skipped-paused', runId: null });
  });
});

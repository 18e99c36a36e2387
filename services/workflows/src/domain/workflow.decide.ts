/*
 * The workflow aggregate (stream `workflow-<workflowId>`): a versioned definition, its
 * schedules and their fires, paused or not. Pure. Every save that changes the definition is a
 * new immutable version (runs pin the version they start from); a save that changes nothing
 * decides nothing. A definition is compiled before it is accepted, so a stored version always
 * compiles — a bad one is refused with every problem named (compile.ts).
 *
 * Invariants (workflow.decide.unit.spec.ts): another user's workflow is NOT_FOUND; a deleted one
 * accepts nothing; a schedule fire is decided once (the fire's time becomes lastFireAt).
 */
import type { z } from 'zod';
import {
  DomainError,
  queuedFireStartedV1,
  scheduleAddedV1,
  scheduleFiredV1,
  scheduleRemovedV1,
  workflowCreatedV1,
  workflowDeletedV1,
  workflowEvents,
  workflowPausedV1,
  workflowResumedV1,
  workflowVersionSavedV1,
  type AddScheduleBody,
  type EventOf,
  type WorkflowDefinition,
} from '@agentyard/contracts';
import type { DecidedEventFor, Decider } from '@agentyard/event-sourcing';
import { compileDefinition } from './compile';
import { canonicalJson } from './expression.evaluate';
import { checkCron, decideFire, type ScheduleState } from './schedule';

export interface WorkflowEventData {
  WorkflowCreated: z.infer<typeof workflowCreatedV1.schema>;
  WorkflowVersionSaved: z.infer<typeof workflowVersionSavedV1.schema>;
  WorkflowDeleted: z.infer<typeof workflowDeletedV1.schema>;
  WorkflowPaused: z.infer<typeof workflowPausedV1.schema>;
  WorkflowResumed: z.infer<typeof workflowResumedV1.schema>;
  ScheduleAdded: z.infer<typeof scheduleAddedV1.schema>;
  ScheduleRemoved: z.infer<typeof scheduleRemovedV1.schema>;
  ScheduleFired: z.infer<typeof scheduleFiredV1.schema>;
  QueuedFireStarted: z.infer<typeof queuedFireStartedV1.schema>;
}
export type WorkflowEventType = keyof WorkflowEventData;
export type WorkflowEvent = { [K in WorkflowEventType]: { type: K; data: WorkflowEventData[K] } }[WorkflowEventType];
/** A workflow event as evolve and the projection see it: parsed by `workflowEvents`, narrowed by `type`. */
export type WorkflowEnvelope = EventOf<typeof workflowEvents>;
/** An event the workflow decider emits. */
export type DecidedWorkflowEvent = DecidedEventFor<WorkflowEnvelope>;

/** Most schedules one workflow may have. */
export const SCHEDULES_MAX = 20;

export interface WorkflowState {
  exists: boolean;
  workflowId: string;
  ownerId: string;
  /** The latest definition's version (1 after creation). */
  version: number;
  definition: WorkflowDefinition | null;
  deleted: boolean;
  paused: boolean;
  schedules: Record<string, ScheduleState>;
  createdAt: string;
  updatedAt: string;
  streamVersion: number;
}

export const workflowStreamId = (workflowId: string): string => `workflow-${workflowId}`;

export function initialWorkflowState(): WorkflowState {
  return {
    exists: false,
    workflowId: '',
    ownerId: '',
    version: 0,
    definition: null,
    deleted: false,
    paused: false,
    schedules: {},
    createdAt: '',
    updatedAt: '',
    streamVersion: 0,
  };
}

export function evolveWorkflow(state: WorkflowState, envelope: WorkflowEnvelope): WorkflowState {
  const e = envelope;
  const at = envelope.occurredAt;
  const s = { ...state, streamVersion: envelope.streamVersion, updatedAt: at };
  switch (e.type) {
    case 'WorkflowCreated':
      return { ...s, exists: true, workflowId: e.data.workflowId, ownerId: e.data.ownerId, version: 1, definition: e.data.definition, createdAt: at };
    case 'WorkflowVersionSaved':
      return { ...s, version: e.data.version, definition: e.data.definition };
    case 'WorkflowDeleted':
      return { ...s, deleted: true, schedules: {} };
    case 'WorkflowPaused':
      return { ...s, paused: true };
    case 'WorkflowResumed':
      return { ...s, paused: false };
    case 'ScheduleAdded': {
      const d = e.data;
      return {
        ...s,
        schedules: {
          ...s.schedules,
          [d.scheduleId]: {
            cron: d.cron,
            timezone: d.timezone,
            overlap: d.overlap,
            missed: d.missed,
            input: d.input,
            createdAt: at,
            lastFireAt: null,
            queued: null,
          },
        },
      };
    }
    case 'ScheduleRemoved': {
      const schedules = { ...s.schedules };
      delete schedules[e.data.scheduleId];
      return { ...s, schedules };
    }
    case 'ScheduleFired': {
      const d = e.data;
      const sched = s.schedules[d.scheduleId];
      if (!sched) return s;
      const queued = d.outcome === 'queued' && d.runId ? { fireAt: d.fireAt, runId: d.runId } : sched.queued;
      return { ...s, schedules: { ...s.schedules, [d.scheduleId]: { ...sched, lastFireAt: d.fireAt, queued } } };
    }
    case 'QueuedFireStarted': {
      const sched = s.schedules[e.data.scheduleId];
      if (!sched) return s;
      return { ...s, schedules: { ...s.schedules, [e.data.scheduleId]: { ...sched, queued: null } } };
    }
    default:
      return state;
  }
}

export interface Actor {
  userId: string;
}

export type WorkflowCommand =
  | { kind: 'CreateWorkflow'; workflowId: string; actor: Actor; definition: WorkflowDefinition; now: Date }
  | { kind: 'SaveVersion'; actor: Actor; definition: WorkflowDefinition; now: Date }
  /** `activeRuns`: the workflow's runs still running or paused (from the run read model). */
  | { kind: 'DeleteWorkflow'; actor: Actor; activeRuns: number; now: Date }
  | { kind: 'PauseWorkflow'; actor: Actor; now: Date }
  | { kind: 'ResumeWorkflow'; actor: Actor; now: Date }
  | { kind: 'AddSchedule'; actor: Actor; scheduleId: string; schedule: AddScheduleBody; now: Date }
  | { kind: 'RemoveSchedule'; actor: Actor; scheduleId: string; now: Date }
  /**
   * The scheduler's tick for one schedule; `activeRuns`: its runs still running or paused;
   * `onTimeMs`: a fire seen later than this is a missed one.
   */
  | { kind: 'FireSchedule'; scheduleId: string; activeRuns: number; onTimeMs?: number; now: Date }
  /** The active run ended: start the fire queued behind it. */
  | { kind: 'StartQueuedFire'; scheduleId: string; activeRuns: number; now: Date };

function event<T extends WorkflowEventType>(type: T, data: WorkflowEventData[T]): DecidedWorkflowEvent {
  // The cast only pairs the generic T with its payload, which workflowEvents has just checked.
  return { type, data: workflowEvents.check(type, data) } as DecidedWorkflowEvent;
}

const notFound = () => new DomainError('NOT_FOUND', 'no such workflow');

/** The workflow as its owner may act on it: absent, someone else's and deleted all look the same. */
function own(s: WorkflowState, actor: Actor): WorkflowState {
  if (!s.exists || s.deleted || s.ownerId !== actor.userId) throw notFound();
  return s;
}

export function decideWorkflow(command: WorkflowCommand, state: WorkflowState): DecidedWorkflowEvent[] {
  switch (command.kind) {
    case 'CreateWorkflow': {
      if (state.exists) throw new DomainError('CONFLICT', 'a workflow with this id already exists');
      compileDefinition(command.definition);
      return [event('WorkflowCreated', { workflowId: command.workflowId, ownerId: command.actor.userId, definition: command.definition })];
    }
    case 'SaveVersion': {
      const s = own(state, command.actor);
      compileDefinition(command.definition);
      if (canonicalJson(s.definition) === canonicalJson(command.definition)) return [];
      return [event('WorkflowVersionSaved', { workflowId: s.workflowId, version: s.version + 1, definition: command.definition })];
    }
    case 'DeleteWorkflow': {
      const s = own(state, command.actor);
      if (command.activeRuns > 0)
        throw new DomainError(
          'CONFLICT',
          `the workflow has ${command.activeRuns} active run${command.activeRuns === 1 ? '' : 's'}: cancel ${command.activeRuns === 1 ? 'it' : 'them'} first`,
          {
            activeRuns: command.activeRuns,
          },
        );
      return [event('WorkflowDeleted', { workflowId: s.workflowId, byUserId: command.actor.userId })];
    }
    case 'PauseWorkflow': {
      const s = own(state, command.actor);
      return s.paused ? [] : [event('WorkflowPaused', { workflowId: s.workflowId, byUserId: command.actor.userId })];
    }
    case 'ResumeWorkflow': {
      const s = own(state, command.actor);
      return s.paused ? [event('WorkflowResumed', { workflowId: s.workflowId, byUserId: command.actor.userId })] : [];
    }
    case 'AddSchedule': {
      const s = own(state, command.actor);
      if (Object.keys(s.schedules).length >= SCHEDULES_MAX) throw new DomainError('CONFLICT', `a workflow has at most ${SCHEDULES_MAX} schedules`);
      checkCron(command.schedule.cron, command.schedule.timezone);
      const b = command.schedule;
      return [
        event('ScheduleAdded', {
          workflowId: s.workflowId,
          scheduleId: command.scheduleId,
          cron: b.cron,
          timezone: b.timezone,
          overlap: b.overlap,
          missed: b.missed,
          input: b.input,
        }),
      ];
    }
    case 'RemoveSchedule': {
      const s = own(state, command.actor);
      if (!s.schedules[command.scheduleId]) throw new DomainError('NOT_FOUND', 'no such schedule');
      return [event('ScheduleRemoved', { workflowId: s.workflowId, scheduleId: command.scheduleId })];
    }
    case 'FireSchedule': {
      const sched = state.schedules[command.scheduleId];
      if (!state.exists || state.deleted || !sched) return [];
      const fire = decideFire(command.scheduleId, sched, command.now, { activeRuns: command.activeRuns, paused: state.paused, onTimeMs: command.onTimeMs });
      if (!fire) return [];
      return [
        event('ScheduleFired', { workflowId: state.workflowId, scheduleId: command.scheduleId, fireAt: fire.fireAt, outcome: fire.outcome, runId: fire.runId }),
      ];
    }
    case 'StartQueuedFire': {
      const sched = state.schedules[command.scheduleId];
      if (!state.exists || state.deleted || !sched?.queued || command.activeRuns > 0 || state.paused) return [];
      return [
        event('QueuedFireStarted', { workflowId: state.workflowId, scheduleId: command.scheduleId, fireAt: sched.queued.fireAt, runId: sched.queued.runId }),
      ];
    }
    default: {
      const never: never = command;
      throw new Error(`unhandled workflow command ${JSON.stringify(never)}`);
    }
  }
}

export const workflowDecider: Decider<WorkflowState, WorkflowCommand, WorkflowEnvelope> = {
  events: workflowEvents,
  initialState: initialWorkflowState,
  evolve: evolveWorkflow,
  decide: decideWorkflow,
};

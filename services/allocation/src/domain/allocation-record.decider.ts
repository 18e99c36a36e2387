/*
 * The decision record of one task (stream `allocation-<taskId>`), as a decider.
 *
 * Invariants (tested in allocation-record.decider.unit.spec.ts, and across processes in
 * test/allocation.int.spec.ts):
 *  - at most one AllocationDecided per (taskId, attempt): once an attempt is decided, recording
 *    again emits nothing. Two instances racing on a task are fenced by the stream's expected
 *    version (handleCommand reloads and decides again, then sees the decision);
 *  - an attempt older than one already recorded is stale and emits nothing;
 *  - an AllocationDeferred is emitted only when the candidate picture differs from the last
 *    deferral of that attempt, so an idle fleet does not write an event every safety-net tick.
 */
import type { Candidate, CountedCandidates, Envelope } from '@agentyard/contracts';
import { candidatePicture, type AllocationOutcome } from './allocation.decide';

export interface AttemptRecord {
  decided: { allocationId: string; workerId: string } | null;
  lastDeferredPicture: string | null;
}

export interface AllocationRecord {
  /** attempt → what was recorded for it. */
  attempts: Record<number, AttemptRecord>;
  /** Highest attempt recorded so far (0 when none). */
  latestAttempt: number;
}

export interface RecordAllocation {
  kind: 'RecordAllocation';
  taskId: string;
  attempt: number;
  /** Id of the decision, should this command decide (made by the caller: deciders take no ids from thin air). */
  allocationId: string;
  outcome: AllocationOutcome;
}

export type AllocationCommand = RecordAllocation;

/** Written at v2 (the best few candidates, the other workers counted: contracts' allocation schemas). */
export type AllocationEvent =
  | {
      type: 'AllocationDecided';
      version: 2;
      data: { allocationId: string; taskId: string; attempt: number; workerId: string; candidates: Candidate[]; others: CountedCandidates[] };
    }
  | { type: 'AllocationDeferred'; version: 2; data: { taskId: string; attempt: number; candidates: Candidate[]; others: CountedCandidates[] } };

export const allocationStreamId = (taskId: string): string => `allocation-${taskId}`;

export function initialState(): AllocationRecord {
  return { attempts: {}, latestAttempt: 0 };
}

export function evolve(state: AllocationRecord, event: Envelope): AllocationRecord {
  // A v1 deferral (every worker a candidate, nothing counted) reads as one with no `others`.
  const data = event.data as { attempt?: number; allocationId?: string; workerId?: string; candidates?: Candidate[]; others?: CountedCandidates[] };
  if (typeof data.attempt !== 'number') return state;
  const attempt = data.attempt;
  const current = state.attempts[attempt] ?? { decided: null, lastDeferredPicture: null };
  let next: AttemptRecord;
  switch (event.type) {
    case 'AllocationDecided':
      next = { ...current, decided: { allocationId: String(data.allocationId), workerId: String(data.workerId) } };
      break;
    case 'AllocationDeferred':
      next = { ...current, lastDeferredPicture: candidatePicture({ candidates: data.candidates ?? [], others: data.others ?? [] }) };
      break;
    default:
      return state;
  }
  return { attempts: { ...state.attempts, [attempt]: next }, latestAttempt: Math.max(state.latestAttempt, attempt) };
}

export function decide(command: AllocationCommand, state: AllocationRecord): AllocationEvent[] {
  switch (command.kind) {
    case 'RecordAllocation': {
      if (command.attempt < state.latestAttempt) return [];
      const record = state.attempts[command.attempt];
      if (record?.decided) return [];
      const { outcome, taskId, attempt } = command;
      if (outcome.kind === 'decided') {
        return [
          {
            type: 'AllocationDecided',
            version: 2,
            data: { allocationId: command.allocationId, taskId, attempt, workerId: outcome.workerId, candidates: outcome.candidates, others: outcome.others },
          },
        ];
      }
      if (record?.lastDeferredPicture === candidatePicture(outcome)) return [];
      return [{ type: 'AllocationDeferred', version: 2, data: { taskId, attempt, candidates: outcome.candidates, others: outcome.others } }];
    }
    default: {
      const unknown: never = command.kind;
      throw new Error(`unknown allocation command ${String(unknown)}`);
    }
  }
}

/** The decider handed to handleCommand. */
export const allocationRecordDecider = { initialState, evolve, decide };

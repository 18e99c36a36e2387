import type { Candidate, CountedCandidates, Envelope } from '@agentyard/contracts';
import { fold } from '@agentyard/event-sourcing';
import type { AllocationOutcome } from './allocation.decide';
import { allocationRecordDecider, decide, type AllocationEvent, type RecordAllocation } from './allocation-record.decider';

const rejected = (workerId: string, ...reasons: string[]): Candidate => ({
  workerId,
  eligible: false,
  rejectedBecause: reasons,
  scores: { match: 0, availability: 0, balance: 0, affinity: 0, total: 0 },
});
const eligible = (workerId: string, total = 0.8): Candidate => ({
  workerId,
  eligible: true,
  rejectedBecause: [],
  scores: { match: 1, availability: 0.5, balance: 0.5, affinity: 0, total },
});

let version = 0;
function stored(event: AllocationEvent | { type: string; version: 1; data: Record<string, unknown> }): Envelope {
  version++;
  return {
    id: `00000000-0000-7000-8000-${String(version).padStart(12, '0')}`,
    type: event.type,
    version: event.version,
    streamId: 'allocation-t1',
    streamVersion: version,
    occurredAt: '2026-11-29T12:00:00.000Z',
    data: event.data,
    metadata: { correlationId: 'c', causationId: 'c' },
  };
}

const decided = (attempt: number, workerId: string): AllocationEvent => ({
  type: 'AllocationDecided',
  version: 2,
  data: { allocationId: `a-${attempt}`, taskId: 't1', attempt, workerId, candidates: [eligible(workerId)], others: [] },
});
const deferred = (attempt: number, candidates: Candidate[], others: CountedCandidates[] = []): AllocationEvent => ({
  type: 'AllocationDeferred',
  version: 2,
  data: { taskId: 't1', attempt, candidates, others },
});
const record = (attempt: number, outcome: AllocationOutcome): RecordAllocation => ({
  kind: 'RecordAllocation',
  taskId: 't1',
  attempt,
  allocationId: `new-${attempt}`,
  outcome,
});

/** given(events).when(command).then(events) */
function given(...events: Array<AllocationEvent | { type: string; version: 1; data: Record<string, unknown> }>) {
  const state = fold(allocationRecordDecider, events.map(stored));
  return { when: (command: RecordAllocation) => ({ then: (expected: AllocationEvent[]) => expect(decide(command, state)).toEqual(expected) }) };
}

describe('The allocation record of a task', () => {
  describe('when nothing was recorded and a worker was chosen', () => {
    it('records AllocationDecided with every candidate', () => {
      const candidates = [rejected('a', 'lacks tool ollama'), eligible('b')];
      given()
        .when(record(1, { kind: 'decided', workerId: 'b', candidates, others: [] }))
        .then([{ type: 'AllocationDecided', version: 2, data: { allocationId: 'new-1', taskId: 't1', attempt: 1, workerId: 'b', candidates, others: [] } }]);
    });
  });

  describe('when the attempt is already decided', () => {
    it('records nothing, whatever the new outcome says (one decision per attempt)', () => {
      given(decided(1, 'b'))
        .when(record(1, { kind: 'decided', workerId: 'a', candidates: [eligible('a')], others: [] }))
        .then([]);
      given(decided(1, 'b'))
        .when(record(1, { kind: 'deferred', candidates: [rejected('b', 'offline')], others: [] }))
        .then([]);
    });
  });

  describe('when a later attempt is queued after a decision', () => {
    it('decides the new attempt', () => {
      given(decided(1, 'b'))
        .when(record(2, { kind: 'decided', workerId: 'a', candidates: [eligible('a')], others: [] }))
        .then([
          {
            type: 'AllocationDecided',
            version: 2,
            data: { allocationId: 'new-2', taskId: 't1', attempt: 2, workerId: 'a', candidates: [eligible('a')], others: [] },
          },
        ]);
    });
  });

  describe('when the command is for an attempt older than one recorded', () => {
    it('records nothing (stale)', () => {
      given(deferred(2, []))
        .when(record(1, { kind: 'decided', workerId: 'a', candidates: [eligible('a')], others: [] }))
        .then([]);
    });
  });

  describe('when no worker is eligible for the first time', () => {
    it('records AllocationDeferred', () => {
      const candidates = [rejected('a', 'offline')];
      given()
        .when(record(1, { kind: 'deferred', candidates, others: [] }))
        .then([{ type: 'AllocationDeferred', version: 2, data: { taskId: 't1', attempt: 1, candidates, others: [] } }]);
    });
  });

  describe('when the fleet looks the same as at the last deferral', () => {
    it('records nothing, even if figures in the reasons moved', () => {
      const before = [rejected('a', 'not enough free memory: 100 MB free, 2000 MB required')];
      const now = [rejected('a', 'not enough free memory: 180 MB free, 2000 MB required')];
      given(deferred(1, before))
        .when(record(1, { kind: 'deferred', candidates: now, others: [] }))
        .then([]);
    });
  });

  describe('when the fleet changed since the last deferral', () => {
    it('records a new AllocationDeferred', () => {
      const candidates = [rejected('a', 'offline'), rejected('b', 'lacks tool ollama')];
      given(deferred(1, [rejected('a', 'offline')]))
        .when(record(1, { kind: 'deferred', candidates, others: [] }))
        .then([{ type: 'AllocationDeferred', version: 2, data: { taskId: 't1', attempt: 1, candidates, others: [] } }]);
    });
  });

  describe('when a deferred attempt finally finds a worker', () => {
    it('records the decision', () => {
      given(deferred(1, [rejected('a', 'offline')]))
        .when(record(1, { kind: 'decided', workerId: 'a', candidates: [eligible('a')], others: [] }))
        .then([
          {
            type: 'AllocationDecided',
            version: 2,
            data: { allocationId: 'new-1', taskId: 't1', attempt: 1, workerId: 'a', candidates: [eligible('a')], others: [] },
          },
        ]);
    });
  });

  describe('when only the count of workers with a reason changed since the last deferral', () => {
    it('records a new AllocationDeferred with the counts', () => {
      const candidates = [rejected('a', 'lacks tool ollama')];
      given(deferred(1, candidates, [{ reasons: ['offline'], count: 1995 }]))
        .when(record(1, { kind: 'deferred', candidates, others: [{ reasons: ['offline'], count: 1996 }] }))
        .then([{ type: 'AllocationDeferred', version: 2, data: { taskId: 't1', attempt: 1, candidates, others: [{ reasons: ['offline'], count: 1996 }] } }]);
      given(deferred(1, candidates, [{ reasons: ['offline'], count: 1995 }]))
        .when(record(1, { kind: 'deferred', candidates, others: [{ reasons: ['offline'], count: 1995 }] }))
        .then([]);
    });
  });

  describe('when the last deferral was recorded as v1 (every worker a candidate, nothing counted)', () => {
    it('reads it, and records nothing while the fleet looks the same', () => {
      const candidates = [rejected('a', 'offline'), rejected('b', 'lacks tool ollama')];
      given({ type: 'AllocationDeferred', version: 1, data: { taskId: 't1', attempt: 1, candidates } })
        .when(record(1, { kind: 'deferred', candidates, others: [] }))
        .then([]);
    });
  });
});

import type { Envelope } from '../common/envelope';
import {
  allocationEvents,
  allocationViewSchema,
  allocationVisibleToOwner,
  candidatesVisibleToOwner,
  notAllowedForOwner,
  type Candidate,
} from './allocation.schemas';

const zero = { match: 0, availability: 0, balance: 0, affinity: 0, total: 0 };
const candidate = (workerId: string, rejectedBecause: string[]): Candidate => ({
  workerId,
  eligible: rejectedBecause.length === 0,
  rejectedBecause,
  scores: zero,
});

describe("an allocation decision as the task's owner sees it", () => {
  it('keeps the workers the owner may use, eligible or not, and drops every other worker', () => {
    const mine = candidate('mine', []);
    const mineBusy = candidate('mine-busy', ['no free slot: 2 of 2 in use']);
    const theirs = candidate('theirs', ['offline', `${notAllowedForOwner}: no role on this worker`]);
    expect(candidatesVisibleToOwner([mine, theirs, mineBusy])).toEqual([mine, mineBusy]);
  });
});

describe('an allocation record as the task’s owner sees it', () => {
  it('folds every worker the owner has no role on, listed or counted, into one count that names nothing else', () => {
    const mine = candidate('mine', []);
    const theirs = candidate('theirs', ['offline', `${notAllowedForOwner}: no role on this worker`]);
    const view = allocationVisibleToOwner({
      candidates: [mine, theirs],
      others: [
        { reasons: ['offline'], count: 3 },
        { reasons: ['offline', notAllowedForOwner], count: 1995 },
        { reasons: ['lacks tool claude-code', notAllowedForOwner], count: 2 },
      ],
    });
    expect(view).toEqual({
      candidates: [mine],
      others: [
        { reasons: ['offline'], count: 3 },
        { reasons: [notAllowedForOwner], count: 1998 },
      ],
    });
  });

  it('adds no count when the owner may use every worker', () => {
    expect(allocationVisibleToOwner({ candidates: [candidate('mine', [])], others: [{ reasons: ['offline'], count: 2 }] }).others).toEqual([
      { reasons: ['offline'], count: 2 },
    ]);
  });
});

describe('a recorded allocation decision', () => {
  const scores = { match: 1, availability: 0.5, balance: 0.5, affinity: 0, total: 0.7 };
  const stored = (type: string, version: number, data: Record<string, unknown>): Envelope => ({
    id: '00000000-0000-7000-8000-000000000001',
    type,
    version,
    streamId: 'allocation-t1',
    streamVersion: 1,
    occurredAt: '2026-11-29T12:00:00.000Z',
    data,
    metadata: { correlationId: 'c', causationId: 'c' },
  });

  describe('when it was written as v1, with every worker as a candidate', () => {
    it('still reads, as v2 with those candidates and nothing counted', () => {
      const candidates = [{ workerId: 'w1', eligible: true, rejectedBecause: [], scores }, candidate('w2', ['offline'])];
      const decided = allocationEvents.upcastEnvelope(
        stored('AllocationDecided', 1, { allocationId: 'a', taskId: 't1', attempt: 1, workerId: 'w1', candidates }),
      );
      expect(decided).toMatchObject({ version: 2, data: { workerId: 'w1', candidates, others: [] } });
      const deferred = allocationEvents.upcastEnvelope(
        stored('AllocationDeferred', 1, { taskId: 't1', attempt: 2, candidates: [candidate('w2', ['offline'])] }),
      );
      expect(deferred).toMatchObject({ version: 2, data: { attempt: 2, others: [] } });
    });
  });

  describe('when it is v2', () => {
    it('keeps its counts, and refuses a count that is not a positive integer', () => {
      const data = { taskId: 't1', attempt: 1, candidates: [], others: [{ reasons: ['offline'], count: 1995 }] };
      expect(allocationEvents.upcastEnvelope(stored('AllocationDeferred', 2, data)).data).toEqual(data);
      expect(() => allocationEvents.upcastEnvelope(stored('AllocationDeferred', 2, { ...data, others: [{ reasons: ['offline'], count: 0 }] }))).toThrow();
    });
  });
});

describe('the allocation view a gateway receives', () => {
  it('reads an answer without counts (an allocation replica of the build before, mid rolling update) as none counted', () => {
    const view = allocationViewSchema.parse({ taskId: 't1', attempt: 1, workerId: null, decidedAt: '2026-11-29T12:00:00.000Z', candidates: [] });
    expect(view.others).toEqual([]);
  });
});

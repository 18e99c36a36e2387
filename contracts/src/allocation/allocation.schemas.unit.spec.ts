import { candidatesVisibleToOwner, notAllowedForOwner, type Candidate } from './allocation.schemas';

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

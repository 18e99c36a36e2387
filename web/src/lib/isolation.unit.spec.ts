import { describe, expect, it } from 'vitest';
import { describeIsolation } from './isolation';

describe('describeIsolation', () => {
  it('knows nothing before the first heartbeat', () => {
    expect(describeIsolation(null)).toBeNull();
  });

  it('calls bubblewrap and a task user isolated', () => {
    expect(describeIsolation({ isolation: 'bubblewrap' })).toMatchObject({ isolated: true, label: 'Sandbox (bubblewrap)' });
    expect(describeIsolation({ isolation: 'task-user' })).toMatchObject({ isolated: true, label: 'Own user per task' });
  });

  it("says why a worker that does not isolate (or does not say) runs only its owners' tasks", () => {
    expect(describeIsolation({ isolation: 'none' })).toMatchObject({ isolated: false, detail: expect.stringContaining("only its owners' tasks") });
    expect(describeIsolation({})).toMatchObject({ isolated: false, label: 'Not reported', detail: expect.stringContaining("only its owners' tasks") });
  });
});

import { candidatesFor, describeIsolation, missingFor, refusalMessage, type IsolationFacts } from './isolation.decide';

const machine = (facts: Partial<IsolationFacts> = {}): IsolationFacts => ({
  user: 'ada',
  isRoot: false,
  bwrap: '/usr/bin/bwrap',
  setpriv: '/usr/bin/setpriv',
  stateDirBlockedBy: undefined,
  ...facts,
});

describe('Task isolation choice', () => {
  describe('given auto', () => {
    it('tries bubblewrap, then a task uid, and never none', () => {
      expect(candidatesFor('auto')).toEqual(['bubblewrap', 'task-user']);
    });
  });

  describe('given an explicit mode', () => {
    it.each(['bubblewrap', 'task-user', 'none'] as const)('tries %s only', (mode) => {
      expect(candidatesFor(mode)).toEqual([mode]);
    });
  });

  describe('bubblewrap', () => {
    it('needs bwrap', () => {
      expect(missingFor('bubblewrap', machine({ bwrap: undefined }))).toMatch(/not installed/);
    });

    it('needs setpriv as root, where the task must leave root inside the sandbox', () => {
      expect(missingFor('bubblewrap', machine({ isRoot: true, setpriv: undefined }))).toMatch(/setpriv/);
      expect(missingFor('bubblewrap', machine({ isRoot: false, setpriv: undefined }))).toBeUndefined();
    });
  });

  describe('a task user', () => {
    it('needs root', () => {
      expect(missingFor('task-user', machine())).toBe('a task user needs the agent to run as root (it runs as ada)');
    });

    it('needs a state dir other users can reach, and says where to put it', () => {
      expect(missingFor('task-user', machine({ isRoot: true, stateDirBlockedBy: '/root' }))).toMatch(/cannot enter \/root.*--state-dir/);
    });

    it('is possible as root with setpriv', () => {
      expect(missingFor('task-user', machine({ isRoot: true }))).toBeUndefined();
    });
  });

  describe('when nothing works', () => {
    it('names what failed and every way out, --isolation none last with its price', () => {
      const message = refusalMessage('auto', ['bubblewrap: bubblewrap (bwrap) is not installed', 'task-user: needs root'], machine());
      expect(message).toMatch(/^cannot isolate tasks from this agent: bubblewrap: .*; task-user: needs root\./);
      expect(message).toContain('apt-get install bubblewrap');
      expect(message).toContain('run the agent as root');
      expect(message).toContain("--isolation none to run tasks as ada — they can then read this worker's credential");
    });
  });

  it('describes each level for the log and doctor', () => {
    expect(describeIsolation('bubblewrap', { user: 'ada', isRoot: false })).toMatch(/^bubblewrap: .*as ada$/);
    expect(describeIsolation('bubblewrap', { user: 'root', isRoot: true })).toMatch(/under a uid of its own$/);
    expect(describeIsolation('task-user', { user: 'root', isRoot: true })).toMatch(/^task-user: /);
    expect(describeIsolation('none', { user: 'ada', isRoot: false })).toMatch(/^NONE: tasks run as ada and can read this worker's credential/);
  });
});

import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialStallState, newestMtime, observeStall, stallError, stallPolicyOf, type ActivitySample, type StallState } from './stall-watch';

const t0 = 1_700_000_000_000;
const s = (seconds: number) => t0 + seconds * 1000;

/** Feeds samples (one per entry) and returns the seconds at which a stall was flagged. */
function run(
  samples: Array<Partial<ActivitySample> & { at: number }>,
  stallSeconds = 10,
  idleCpuTicks = 0,
): { flaggedAt: number[]; silent: number[]; state: StallState } {
  const base: ActivitySample = { at: t0, lastOutputAt: t0, cpuTicks: 100, newestMtimeMs: 5 };
  let state = initialStallState(base);
  let last = base;
  const flaggedAt: number[] = [];
  const silent: number[] = [];
  for (const partial of samples) {
    const sample = { ...last, ...partial };
    last = sample;
    const decision = observeStall(state, sample, stallSeconds, idleCpuTicks);
    state = decision.state;
    if (decision.stalled) {
      flaggedAt.push((sample.at - t0) / 1000);
      silent.push(decision.stalled.silentSeconds);
    }
  }
  return { flaggedAt, silent, state };
}

const every = (from: number, to: number, step: number, extra: (sec: number) => Partial<ActivitySample> = () => ({})) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => ({ at: s(from + i * step), ...extra(from + i * step) }));

describe('observeStall', () => {
  describe('when output, CPU and files all stay still', () => {
    it('flags the attempt once stallSeconds have passed, with how long it was silent', () => {
      const { flaggedAt, silent } = run(every(2, 30, 2));
      expect(flaggedAt).toEqual([10]);
      expect(silent).toEqual([10]);
    });

    it('flags it only once for one stall, however long it lasts', () => {
      expect(run(every(1, 120, 1)).flaggedAt).toEqual([10]);
    });
  });

  describe('when one sign of life moves', () => {
    it('does not flag an attempt that keeps printing', () => {
      expect(run(every(2, 60, 2, (sec) => ({ lastOutputAt: s(sec - 1) }))).flaggedAt).toEqual([]);
    });

    it('does not flag an attempt that keeps using CPU but prints nothing', () => {
      expect(run(every(2, 60, 2, (sec) => ({ cpuTicks: 100 + sec * 50 }))).flaggedAt).toEqual([]);
    });

    it('does not flag an attempt that keeps changing files but prints nothing', () => {
      expect(run(every(2, 60, 2, (sec) => ({ newestMtimeMs: s(sec) }))).flaggedAt).toEqual([]);
    });

    it('counts CPU within the idle allowance as idle', () => {
      // One tick per sample: an idle runtime's timers, not work.
      expect(
        run(
          every(2, 30, 2, (sec) => ({ cpuTicks: 100 + sec / 2 })),
          10,
          1,
        ).flaggedAt,
      ).toEqual([10]);
      expect(
        run(
          every(2, 30, 2, (sec) => ({ cpuTicks: 100 + sec })),
          10,
          1,
        ).flaggedAt,
      ).toEqual([]);
    });

    it('does not take a shrinking CPU sum (a process left the tree) for activity', () => {
      expect(run(every(2, 20, 2, (sec) => ({ cpuTicks: 100 - sec }))).flaggedAt).toEqual([10]);
    });

    it('ignores an unknown CPU figure (no /proc) and still watches output and files', () => {
      expect(run(every(2, 20, 2, () => ({ cpuTicks: undefined }))).flaggedAt).toEqual([10]);
    });
  });

  describe('after a stall was flagged', () => {
    it('is re-armed by new output and flags the next stall, counted from that output', () => {
      const samples = [...every(1, 15, 1), { at: s(16), lastOutputAt: s(15.5) }, ...every(17, 40, 1)];
      const { flaggedAt, silent } = run(samples);
      expect(flaggedAt).toEqual([10, 26]);
      expect(silent).toEqual([10, 10]);
    });

    it('is re-armed by CPU use or a file change as well', () => {
      const cpu = run([...every(1, 12, 1), { at: s(13), cpuTicks: 500 }, ...every(14, 30, 1)]);
      expect(cpu.flaggedAt).toEqual([10, 23]);
      const files = run([...every(1, 12, 1), { at: s(13), newestMtimeMs: 99 }, ...every(14, 30, 1)]);
      expect(files.flaggedAt).toEqual([10, 23]);
    });

    it('is not re-armed by output it had already seen', () => {
      const { flaggedAt, state } = run([{ at: s(5), lastOutputAt: s(4) }, ...every(6, 30, 1)]);
      expect(flaggedAt).toEqual([14]);
      expect(state.flagged).toBe(true);
    });
  });
});

describe('stallPolicyOf', () => {
  it("takes the task's own policy first", () => {
    expect(stallPolicyOf({ watchdog: { stallSeconds: 60, action: 'fail' } }, 300)).toEqual({ stallSeconds: 60, action: 'fail' });
  });

  it("falls back to the worker's default, which only notifies, and to none when that is 0", () => {
    expect(stallPolicyOf({ command: 'x' }, 300)).toEqual({ stallSeconds: 300, action: 'notify' });
    expect(stallPolicyOf({ command: 'x' }, 0)).toBeUndefined();
  });

  it('lets a test shorten the seconds through the worker environment, but not invent a policy', () => {
    const env = { AGENTYARD_TEST_STALL_SECONDS: '3' };
    expect(stallPolicyOf({ watchdog: { stallSeconds: 60, action: 'restart' } }, 0, env)).toEqual({ stallSeconds: 3, action: 'restart' });
    expect(stallPolicyOf({}, 0, env)).toBeUndefined();
    expect(stallPolicyOf({ watchdog: { stallSeconds: 60, action: 'notify' } }, 0, { AGENTYARD_TEST_STALL_SECONDS: 'soon' })?.stallSeconds).toBe(60);
  });

  it('says why an attempt failed', () => {
    expect(stallError(12)).toBe('stalled: no output, CPU or file change for 12 s');
  });
});

describe('newestMtime', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'stall-watch-'));
    mkdirSync(join(root, 'src/deep'), { recursive: true });
    mkdirSync(join(root, '.git'));
    for (const p of ['.', 'src', 'src/deep']) utimesSync(join(root, p), 1000, 1000);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('sees a change deep in the tree', () => {
    writeFileSync(join(root, 'src/deep/a.txt'), 'x');
    utimesSync(join(root, 'src/deep/a.txt'), 5000, 5000);
    utimesSync(join(root, 'src/deep'), 1000, 1000);
    expect(newestMtime(root)).toBe(5_000_000);
  });

  it("skips .git (git's own bookkeeping)", () => {
    writeFileSync(join(root, '.git/index'), 'x');
    utimesSync(join(root, '.git/index'), 9000, 9000);
    utimesSync(join(root, '.git'), 9000, 9000);
    expect(newestMtime(root)).toBe(1_000_000);
  });

  it('looks at no more than maxEntries entries', () => {
    writeFileSync(join(root, 'src/deep/late.txt'), 'x');
    utimesSync(join(root, 'src/deep/late.txt'), 7000, 7000);
    utimesSync(join(root, 'src/deep'), 1000, 1000);
    expect(newestMtime(root, 2)).toBe(1_000_000);
    expect(newestMtime(root)).toBe(7_000_000);
  });

  it('is undefined for a directory that is gone', () => {
    expect(newestMtime(join(root, 'nope'))).toBeUndefined();
  });
});

import { busyPercent, cpuTimesNow, SystemSampler } from './system-sampler';

describe('the CPU load a heartbeat reports', () => {
  it('is the busy share of the CPU time between two readings', () => {
    expect(busyPercent({ total: 1_000, idle: 800 }, { total: 3_000, idle: 1_300 })).toBe(75);
    expect(busyPercent({ total: 1_000, idle: 800 }, { total: 1_000, idle: 800 })).toBe(0);
  });

  it('moves with this machine’s CPU time, between 0 and 100 %', async () => {
    const before = cpuTimesNow();
    const until = performance.now() + 300;
    while (performance.now() < until) {
      /* one core busy */
    }
    const after = cpuTimesNow();
    expect(after.total).toBeGreaterThan(before.total);
    expect(busyPercent(before, after)).toBeGreaterThan(0);
    const sample = await new SystemSampler('/').sample();
    expect(sample.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(sample.cpuPercent).toBeLessThanOrEqual(100);
    expect(sample.memTotalMb).toBeGreaterThan(0);
  });
});

import { spawn } from 'node:child_process';
import { groupAlive, killProcessTree, processAlive } from './process-group';

/** A shell in its own process group with a child; optionally ignoring SIGTERM. */
function startGroup(script: string): number {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

describe('killProcessTree', () => {
  it('ends the group with SIGTERM when it obeys', async () => {
    const pgid = startGroup('sleep 30 & sleep 30; wait');
    await new Promise((r) => setTimeout(r, 100));
    expect(groupAlive(pgid)).toBe(true);
    const started = Date.now();
    await killProcessTree(pgid, { graceMs: 2_000 });
    expect(groupAlive(pgid)).toBe(false);
    expect(processAlive(pgid)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('escalates to SIGKILL after the grace period when SIGTERM is ignored', async () => {
    const pgid = startGroup('trap "" TERM; sleep 30 & sleep 30; wait');
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await killProcessTree(pgid, { graceMs: 300 });
    expect(groupAlive(pgid)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('returns at once for a group that does not exist', async () => {
    await expect(killProcessTree(2 ** 22 + 12345)).resolves.toBeUndefined();
  });
});

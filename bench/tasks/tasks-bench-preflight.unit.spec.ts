/*
 * `npm run bench:tasks` on a machine without redis-server: it must say what is missing and exit
 * non-zero before starting anything (it crashed with `spawn redis-server ENOENT` mid-run). As
 * root on Debian it installs the package instead; AGENTYARD_NO_INSTALL=1 keeps this test from
 * installing anything.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

describe('bench:tasks without redis-server', () => {
  it('prints what is missing and how to install it, and exits 1 before starting the platform', () => {
    const run = spawnSync(process.execPath, [join(root, 'bench/tasks/tasks.bench.mjs')], {
      env: { ...process.env, REDIS_SERVER_BIN: '/nonexistent/redis-server', AGENTYARD_NO_INSTALL: '1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/redis-server is missing/);
    expect(run.stderr).toMatch(/apt-get install -y redis-server/);
    expect(run.stdout).not.toMatch(/starting|agentyard/i);
  });
});

import { processAlive } from '../system/process-group';
import { TaskProcess, type TaskExit } from './task-process';

function run(command: string, timeoutSeconds = 30): { proc: TaskProcess; output: () => string; finished: Promise<TaskExit> } {
  let out = '';
  const proc = new TaskProcess({
    file: '/bin/sh',
    args: ['-c', command],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'dumb' },
    cwd: '/tmp',
    timeoutSeconds,
    killGraceMs: 500,
    onData: (d) => (out += d),
  });
  return { proc, output: () => out, finished: proc.finished };
}

describe('TaskProcess', () => {
  it('delivers all output of quick processes before reporting their exit', async () => {
    const runs = Array.from({ length: 24 }, (_, i) => ({ i, ...run(`echo task-${i}-$((6*7))`) }));
    for (const r of runs) {
      const exit = await r.finished;
      expect(exit).toMatchObject({ exitCode: 0, signal: null, stoppedBy: undefined });
      expect(r.output()).toBe(`task-${r.i}-42\r\n`);
    }
  });

  it('reports the tool’s exit code, and 128+n for a tool killed by a signal', async () => {
    await expect(run('exit 7').finished).resolves.toMatchObject({ exitCode: 7 });
    await expect(run('kill -9 $$').finished).resolves.toMatchObject({ exitCode: 137 });
  });

  it('kills the tree on stop and keeps the first reason', async () => {
    const r = run('sleep 30 & echo "child=$!"; wait');
    while (!/child=\d+/.test(r.output())) await new Promise((res) => setTimeout(res, 10));
    const child = Number(/child=(\d+)/.exec(r.output())![1]);
    await r.proc.stop('cancelled');
    await r.proc.stop('timed_out');
    const exit = await r.finished;
    expect(exit.stoppedBy).toBe('cancelled');
    expect(exit.exitCode).toBeNull();
    expect(processAlive(child)).toBe(false);
  });

  it('times out', async () => {
    const exit = await run('sleep 30', 1).finished;
    expect(exit.stoppedBy).toBe('timed_out');
    expect(exit.durationMs).toBeGreaterThanOrEqual(1_000);
  });
});

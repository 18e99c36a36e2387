import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitStatusFile, finishedLeftover, leftoverPaths, readExitStatus } from './leftover-attempt';

describe('a leftover attempt’s exit status', () => {
  let stateDir: string;
  let root: string;
  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'leftover-'));
    root = leftoverPaths(stateDir, 'task-a', 1).root;
    mkdirSync(join(root, '.agentyard'), { recursive: true });
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('reads the status the wrapper wrote', () => {
    writeFileSync(exitStatusFile(root), '0\n');
    expect(readExitStatus(root)).toBe(0);
    writeFileSync(exitStatusFile(root), '137\n');
    expect(readExitStatus(root)).toBe(137);
  });

  it('ignores what the wrapper would not write: no file, garbage, a number past 255, a big file, a link', () => {
    expect(readExitStatus(root)).toBeUndefined();
    for (const text of ['', '0', 'ok\n', '-1\n', '256\n', '0\n0\n', ' 0\n', '0'.repeat(20)]) {
      writeFileSync(exitStatusFile(root), text);
      expect([text, readExitStatus(root)]).toEqual([text, undefined]);
    }
    rmSync(exitStatusFile(root));
    const elsewhere = join(stateDir, 'elsewhere');
    writeFileSync(elsewhere, '0\n');
    symlinkSync(elsewhere, exitStatusFile(root));
    expect(readExitStatus(root)).toBeUndefined();
    // The task replaced its .agentyard directory by a link to one holding a status.
    rmSync(join(root, '.agentyard'), { recursive: true });
    mkdirSync(join(stateDir, 'other'));
    writeFileSync(join(stateDir, 'other', 'exit-status'), '0\n');
    symlinkSync(join(stateDir, 'other'), join(root, '.agentyard'));
    expect(readExitStatus(root)).toBeUndefined();
  });

  it('makes a result from the status, the log’s tail and the structured output; a signal’s status is not a result', () => {
    const paths = leftoverPaths(stateDir, 'task-a', 1);
    mkdirSync(join(stateDir, 'logs'));
    writeFileSync(paths.log, `${'x'.repeat(70 * 1024)}the end\n`);
    writeFileSync(join(root, '.agentyard', 'output.json'), '{"n": 1}');
    writeFileSync(exitStatusFile(root), '0\n');
    const done = finishedLeftover(paths);
    expect(done?.outcome).toBe('succeeded');
    expect(done?.result.exitCode).toBe(0);
    expect(done?.result.output).toEqual({ n: 1 });
    expect(done?.result.outputTail.length).toBe(64 * 1024);
    expect(done?.result.outputTail.endsWith('the end\n')).toBe(true);

    writeFileSync(exitStatusFile(root), '2\n');
    expect(finishedLeftover(paths)?.outcome).toBe('failed');
    writeFileSync(join(root, '.agentyard', 'output.json'), '{not json');
    writeFileSync(exitStatusFile(root), '0\n');
    expect(finishedLeftover(paths)?.outcome).toBe('failed');
    writeFileSync(exitStatusFile(root), '143\n');
    expect(finishedLeftover(paths)).toBeUndefined();
  });
});

import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkReport } from '@agentyard/contracts/agent';
import { AttemptJournal } from './attempt-journal';

/** A finished report as the agent writes it. */
function finished(taskId: string, attempt: number): WorkReport {
  return {
    kind: 'finished',
    taskId,
    attempt,
    workerId: 'worker-1',
    outcome: 'succeeded',
    result: { exitCode: 0, output: '', outputTruncated: false, durationMs: 5 },
  } as unknown as WorkReport;
}

describe('AttemptJournal', () => {
  let stateDir: string;
  const journals: AttemptJournal[] = [];
  /** A journal over the state dir, as an agent (re)started there opens it. */
  const open = (): AttemptJournal => {
    const journal = new AttemptJournal(stateDir);
    journals.push(journal);
    return journal;
  };

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'journal-'));
  });

  afterEach(() => {
    for (const journal of journals.splice(0)) journal.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  describe('after the agent died (a new journal over the same state dir)', () => {
    it('hands back what it held: the taken, the started with its process and tool, and the finished with its report — not what ended', () => {
      const before = open();
      before.begin('taken', 1);
      before.begin('running', 2);
      before.started('running', 2, process.pid, 'claude-code'); // a live pid, so its start time can be read
      before.begin('done', 1);
      before.finished(finished('done', 1));
      before.begin('stored', 1);
      before.finished(finished('stored', 1));
      before.end('stored', 1);

      const left = new Map(
        open()
          .leftovers()
          .map((e) => [`${e.taskId}:${e.attempt}`, e]),
      );
      expect([...left.keys()].sort()).toEqual(['done:1', 'running:2', 'taken:1']);
      expect(left.get('running:2')?.process?.pid).toBe(process.pid);
      expect(left.get('running:2')?.tool).toBe('claude-code'); // its log is parsed with that tool's parser
      expect(left.get('done:1')?.report).toEqual(finished('done', 1));
      expect(left.get('taken:1')).toEqual({ taskId: 'taken', attempt: 1 });
    });

    it('skips a line the kill cut short and keeps everything before it', () => {
      const before = open();
      before.begin('whole', 1);
      appendFileSync(join(stateDir, 'attempts', 'journal.log'), '{"taskId":"cut","attem');
      expect(open().leftovers()).toEqual([{ taskId: 'whole', attempt: 1 }]);
    });

    it('folds in the files of the earlier layout (one per attempt) and removes them', () => {
      const dir = join(stateDir, 'attempts');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'old-1.json'), JSON.stringify({ taskId: 'old', attempt: 1 }));
      writeFileSync(join(dir, 'half-1.json.tmp'), '{"taskId":');
      const journal = open();
      expect(journal.leftovers()).toEqual([{ taskId: 'old', attempt: 1 }]);
      expect(readdirSync(dir)).toEqual(['journal.log']);
      journal.end('old', 1);
      expect(open().leftovers()).toEqual([]);
    });
  });

  it('keeps to one file that is only appended to while it runs, and starts it again from the attempts held', () => {
    const journal = open();
    const log = join(stateDir, 'attempts', 'journal.log');
    for (let i = 0; i < 50; i++) {
      journal.begin(`t${i}`, 1);
      journal.finished(finished(`t${i}`, 1));
      if (i % 10 !== 0) journal.end(`t${i}`, 1);
    }
    expect(readdirSync(join(stateDir, 'attempts'))).toEqual(['journal.log']);
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(50 + 50 + 45);
    // A restart rewrites it with the five attempts still held, nothing else.
    open();
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(5);
  });

  it('empties the log once nothing is held and it has grown large', () => {
    const journal = open();
    const log = join(stateDir, 'attempts', 'journal.log');
    const big = {
      ...finished('big', 1),
      result: { exitCode: 0, output: 'x'.repeat(64 * 1024), outputTruncated: false, durationMs: 1 },
    } as unknown as WorkReport;
    for (let i = 0; i < 5; i++) {
      journal.begin(`b${i}`, 1);
      journal.finished({ ...big, taskId: `b${i}` } as WorkReport);
    }
    for (let i = 0; i < 4; i++) journal.end(`b${i}`, 1);
    expect(statSync(log).size).toBeGreaterThan(256 * 1024); // one attempt still held: kept
    journal.end('b4', 1);
    expect(statSync(log).size).toBe(0);
    journal.begin('after', 1); // appends go on from the start
    expect(open().leftovers()).toEqual([{ taskId: 'after', attempt: 1 }]);
  });
});

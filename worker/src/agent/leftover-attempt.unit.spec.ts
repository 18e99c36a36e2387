import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claudeCodeStreamParser } from '../tools/claude-code.tool';
import { exitStatusFile, finishedLeftover, leftoverPaths, readExitStatus } from './leftover-attempt';

/** A claude-code stream-json run as its masked log keeps it: the session, a line of text, the result. */
function claudeLog(result: Record<string, unknown>): string {
  return [
    '{"type":"system","subtype":"init","session_id":"s-1","model":"claude-x"}',
    '{"type":"assistant","message":{"id":"m1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Working on it."}],"usage":{"input_tokens":10,"output_tokens":1}}}',
    JSON.stringify({
      type: 'result',
      is_error: false,
      num_turns: 1,
      session_id: 's-1',
      total_cost_usd: 0.0125,
      usage: { input_tokens: 120, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      modelUsage: { 'claude-x': { inputTokens: 120, outputTokens: 30, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, costUSD: 0.0125 } },
      ...result,
    }),
    '',
  ].join('\r\n');
}

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

  it('parses an agent CLI’s log again with its tool’s parser: usage and summary, and a budget it stopped at', () => {
    const paths = leftoverPaths(stateDir, 'task-a', 1);
    mkdirSync(join(stateDir, 'logs'));
    writeFileSync(paths.log, claudeLog({ subtype: 'success', result: 'Wrote the file.' }));
    writeFileSync(exitStatusFile(root), '0\n');
    const done = finishedLeftover(paths, claudeCodeStreamParser());
    expect(done?.outcome).toBe('succeeded');
    expect(done?.result.summary).toBe('Wrote the file.');
    expect(done?.result.usage).toMatchObject({ inputTokens: 120, outputTokens: 30, costUsd: 0.0125, sessionId: 's-1' });
    // Without the parser (a shell task, or a journal from before the tool was recorded): no usage.
    expect(finishedLeftover(paths)?.result.usage).toBeUndefined();

    writeFileSync(paths.log, claudeLog({ subtype: 'error_max_budget_usd', is_error: true, errors: ['Reached the budget'] }));
    writeFileSync(exitStatusFile(root), '1\n');
    const over = finishedLeftover(paths, claudeCodeStreamParser());
    expect(over?.outcome).toBe('budget_exceeded');
    expect(over?.result.error).toMatch(/^budget_exceeded: /);
    expect(over?.result.usage?.costUsd).toBe(0.0125);
  });
});

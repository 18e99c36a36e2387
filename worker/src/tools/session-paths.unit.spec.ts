import { attemptOfBranch, claudeProjectDirName, isResumableTool, keptSessionsDir, sessionDirIn, sessionIdOfFile } from './session-paths';

describe('claudeProjectDirName', () => {
  it('turns every character but a letter or a digit into a dash, as the CLI names the project of a cwd', () => {
    // Printed by claude 2.1.197 in its init line (memory_paths) for these cwds.
    expect(claudeProjectDirName('/tmp/claude-code-int-hWTrDU/edit')).toBe('-tmp-claude-code-int-hWTrDU-edit');
    expect(claudeProjectDirName('/tmp/scratch-resume/w1/a.b_c/repo')).toBe('-tmp-scratch-resume-w1-a-b-c-repo');
  });

  it('cuts a name over 200 characters and adds the CLI’s hash of the whole path', () => {
    const cwd = `/tmp/scratch-resume/w1/a.b_c/repo/${'d'.repeat(120)}/${'e'.repeat(100)}`;
    // The directory the real CLI made for this cwd.
    expect(claudeProjectDirName(cwd)).toBe(`-tmp-scratch-resume-w1-a-b-c-repo-${'d'.repeat(120)}-${'e'.repeat(45)}-psuonf`);
    expect(claudeProjectDirName(`/${'x'.repeat(199)}`)).toBe(`-${'x'.repeat(199)}`);
  });
});

describe('sessionIdOfFile', () => {
  it('reads claude’s <id>.jsonl at the top of its project directory only', () => {
    expect(sessionIdOfFile('claude-code', '29c8d2d9-8baf-4312-8dba-ce503f0f461f.jsonl')).toBe('29c8d2d9-8baf-4312-8dba-ce503f0f461f');
    expect(sessionIdOfFile('claude-code', '29c8d2d9-8baf-4312-8dba-ce503f0f461f/subagents/agent-1.jsonl')).toBeUndefined();
    expect(sessionIdOfFile('claude-code', 'memory')).toBeUndefined();
  });

  it('reads codex’s rollout-<time>-<uuid>.jsonl at any depth', () => {
    expect(sessionIdOfFile('codex', '2026/12/06/rollout-2026-12-06T00-01-05-01a248a7-7abd-7332-a588-c851ab7b9af9.jsonl')).toBe(
      '01a248a7-7abd-7332-a588-c851ab7b9af9',
    );
    expect(sessionIdOfFile('codex', '2026/12/06/notes.jsonl')).toBeUndefined();
  });
});

describe('attemptOfBranch', () => {
  it('names the attempt of an agent branch', () => {
    expect(attemptOfBranch('agentyard/3f6c2a1e-0000-4000-8000-000000000001-2')).toEqual({ taskId: '3f6c2a1e-0000-4000-8000-000000000001', attempt: 2 });
  });

  it('is null for any other ref', () => {
    for (const ref of [undefined, 'main', 'refs/heads/agentyard/t-1', 'agentyard/t-0', 'agentyard/t', 'agentyard/../x-1', 'agentyard/t-1/x']) {
      expect(attemptOfBranch(ref)).toBeNull();
    }
  });
});

describe('where sessions lie', () => {
  it('is the project directory of the cwd for claude-code and sessions/ for codex, kept per tool', () => {
    expect(sessionDirIn('claude-code', '/s/work/t-1/repo')).toBe('projects/-s-work-t-1-repo');
    expect(sessionDirIn('codex', '/s/work/t-1/repo')).toBe('sessions');
    expect(keptSessionsDir('codex')).toBe('sessions/codex');
    expect(isResumableTool('claude-code') && isResumableTool('codex')).toBe(true);
    expect(isResumableTool('gemini-cli') || isResumableTool('shell')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { emptyTaskForm, formFieldOf, taskLimits, toCreateBody, validateTask } from './create-task.form';

describe('the create-task form', () => {
  it('starts from the API’s defaults', () => {
    expect(emptyTaskForm('shell')).toMatchObject({ priority: 50, timeoutSeconds: 3600, maxAttempts: 3 });
    expect(taskLimits.priority.max).toBe(100);
  });

  it('asks for a command for shell and sends it as the input', () => {
    const form = { ...emptyTaskForm('shell'), description: 'say hi' };
    expect(validateTask(form, ['shell'])).toEqual({ command: 'Enter a command' });
    form.command = 'echo hi';
    expect(validateTask(form, ['shell'])).toEqual({});
    expect(toCreateBody(form)).toEqual({
      description: 'say hi',
      tool: 'shell',
      input: { command: 'echo hi' },
      priority: 50,
      timeoutSeconds: 3600,
      maxAttempts: 3,
    });
  });

  it('asks prompt tools for a prompt and an optional model', () => {
    const form = { ...emptyTaskForm('claude-code'), description: 'review', prompt: 'Review the diff' };
    expect(toCreateBody(form).input).toEqual({ prompt: 'Review the diff', permissionMode: 'read-only' });
    expect(toCreateBody({ ...form, model: ' opus ' }).input).toEqual({ prompt: 'Review the diff', model: 'opus', permissionMode: 'read-only' });
  });

  it('asks an agent CLI what it may do in the task directory and how many turns, and sends that', () => {
    const form = { ...emptyTaskForm('codex'), description: 'fix', prompt: 'Fix the test' };
    expect(toCreateBody(form).input).toEqual({ prompt: 'Fix the test', permissionMode: 'read-only' });
    expect(toCreateBody({ ...form, permissionMode: 'edit', maxTurns: 12 }).input).toEqual({ prompt: 'Fix the test', permissionMode: 'edit', maxTurns: 12 });
    // A chat tool has no directory to edit: neither field is sent.
    expect(toCreateBody({ ...emptyTaskForm('claude-api'), description: 'q', prompt: 'Hi', permissionMode: 'edit', maxTurns: 3 }).input).toEqual({
      prompt: 'Hi',
    });
    expect(validateTask({ ...form, maxTurns: 0 }, ['codex']).maxTurns).toMatch(/1–500/);
    expect(validateTask({ ...form, maxTurns: 50 }, ['codex']).maxTurns).toBeUndefined();
  });

  describe('with a budget', () => {
    const agent = { ...emptyTaskForm('claude-code'), description: 'fix', prompt: 'Fix it' };

    it('sends input.budget with only the caps given, for every prompt tool', () => {
      expect(toCreateBody(agent).input).not.toHaveProperty('budget');
      expect(toCreateBody({ ...agent, budgetMaxTokens: 200_000 }).input).toEqual({
        prompt: 'Fix it',
        permissionMode: 'read-only',
        budget: { maxTokens: 200_000 },
      });
      expect(toCreateBody({ ...agent, budgetMaxTokens: 200_000, budgetMaxCostUsd: 2.5 }).input.budget).toEqual({ maxTokens: 200_000, maxCostUsd: 2.5 });
      const chat = { ...emptyTaskForm('openai-compatible'), description: 'q', prompt: 'Hi', budgetMaxCostUsd: 0.1 };
      expect(toCreateBody(chat).input).toEqual({ prompt: 'Hi', budget: { maxCostUsd: 0.1 } });
    });

    it('sends none for a tool without a prompt, whatever the fields hold', () => {
      const shell = { ...emptyTaskForm('shell'), description: 'x', command: 'make', budgetMaxTokens: 10, budgetMaxCostUsd: 1 };
      expect(toCreateBody(shell).input).toEqual({ command: 'make' });
      expect(validateTask({ ...shell, budgetMaxTokens: -1 }, ['shell'])).toEqual({});
    });

    it('checks the caps with the contracts’ budget schema: positive, whole tokens, at most $10,000', () => {
      expect(validateTask({ ...agent, budgetMaxTokens: 0 }, ['claude-code']).budgetMaxTokens).toMatch(/more than 0/);
      expect(validateTask({ ...agent, budgetMaxTokens: 1.5 }, ['claude-code']).budgetMaxTokens).toMatch(/whole number/);
      expect(validateTask({ ...agent, budgetMaxCostUsd: 0 }, ['claude-code']).budgetMaxCostUsd).toMatch(/more than 0/);
      expect(validateTask({ ...agent, budgetMaxCostUsd: 10_001 }, ['claude-code']).budgetMaxCostUsd).toMatch(/at most 10000/);
      expect(validateTask({ ...agent, budgetMaxTokens: 1, budgetMaxCostUsd: 0.01 }, ['claude-code'])).toEqual({});
    });

    it('places the server’s budget errors on the budget fields', () => {
      expect(formFieldOf('input.budget.maxTokens')).toBe('budgetMaxTokens');
      expect(formFieldOf('input.budget.maxCostUsd')).toBe('budgetMaxCostUsd');
      expect(formFieldOf('input.budget')).toBe('budgetMaxCostUsd');
    });
  });

  it('continues an earlier session for the CLIs that can, and checks the id', () => {
    const form = { ...emptyTaskForm('codex'), description: 'more', prompt: 'Go on', resumeSession: ' 0199-abc ' };
    expect(toCreateBody(form).input).toEqual({ prompt: 'Go on', permissionMode: 'read-only', resumeSession: '0199-abc' });
    expect(toCreateBody({ ...form, tool: 'gemini-cli' }).input).not.toHaveProperty('resumeSession');
    expect(toCreateBody({ ...form, resumeSession: '  ' }).input).not.toHaveProperty('resumeSession');
    expect(validateTask({ ...form, resumeSession: 'a b' }, ['codex']).resumeSession).toMatch(/session id/);
    expect(validateTask(form, ['codex'])).toEqual({});
  });

  it('refuses a tool no online worker offers', () => {
    const form = { ...emptyTaskForm('ollama'), description: 'x', prompt: 'y' };
    expect(validateTask(form, ['shell']).tool).toMatch(/No online worker/);
  });

  it('checks the numeric limits', () => {
    const form = { ...emptyTaskForm('noop'), description: 'x', priority: 101, timeoutSeconds: 0, maxAttempts: 21 };
    expect(Object.keys(validateTask(form, ['noop'])).sort()).toEqual(['maxAttempts', 'priority', 'timeoutSeconds']);
  });

  describe('with a repository to work in', () => {
    const shell = { ...emptyTaskForm('shell'), description: 'build', command: 'make' };

    it('sends input.workspace only when a repository is given, trimmed, with the ref and push when set', () => {
      expect(toCreateBody(shell).input).toEqual({ command: 'make' });
      expect(toCreateBody({ ...shell, workspaceRepo: '   ', workspacePush: true }).input).toEqual({ command: 'make' });
      expect(toCreateBody({ ...shell, workspaceRepo: ' https://github.com/acme/app.git ' }).input).toEqual({
        command: 'make',
        workspace: { repo: 'https://github.com/acme/app.git' },
      });
      const agent = { ...emptyTaskForm('claude-code'), description: 'fix', prompt: 'Fix it', permissionMode: 'edit' as const };
      expect(toCreateBody({ ...agent, workspaceRepo: 'git@github.com:acme/app.git', workspaceRef: ' main ', workspacePush: true }).input).toEqual({
        prompt: 'Fix it',
        permissionMode: 'edit',
        workspace: { repo: 'git@github.com:acme/app.git', ref: 'main', push: true },
      });
    });

    it('sends no workspace for a tool that takes none (a chat API, noop)', () => {
      const chat = { ...emptyTaskForm('claude-api'), description: 'q', prompt: 'Hi', workspaceRepo: '/srv/repo', workspaceRef: 'main' };
      expect(toCreateBody(chat).input).toEqual({ prompt: 'Hi' });
      expect(validateTask(chat, ['claude-api'])).toEqual({});
      expect(toCreateBody({ ...emptyTaskForm('noop'), description: 'n', workspaceRepo: '/srv/repo' }).input).toEqual({});
    });

    it('checks the repository and ref as the contract does', () => {
      const errors = (repo: string, ref = '') => validateTask({ ...shell, workspaceRepo: repo, workspaceRef: ref }, ['shell']);
      expect(errors('https://example.com/a.git')).toEqual({});
      expect(errors('ssh://git@example.com/a.git', 'v1.2.0')).toEqual({});
      expect(errors('/srv/repos/app', 'agentyard/t-1')).toEqual({});
      expect(errors('relative/path').workspaceRepo).toMatch(/https:\/\/, ssh:\/\/ or git@host: URL, or an absolute path/);
      expect(errors('-uhttps://x').workspaceRepo).toMatch(/may not start with "-"/);
      expect(errors('/srv/app', 'main..evil').workspaceRef).toMatch(/branch, tag or commit/);
      expect(errors('/srv/app', '-x').workspaceRef).toMatch(/branch, tag or commit/);
      expect(errors('', 'main')).toEqual({ workspaceRef: 'A base ref needs a repository' });
    });

    it('puts the server’s workspace errors on the repository fields', () => {
      expect(formFieldOf('input.workspace.repo')).toBe('workspaceRepo');
      expect(formFieldOf('input.workspace.ref')).toBe('workspaceRef');
      expect(formFieldOf('input.workspace')).toBe('workspaceRepo');
      expect(formFieldOf('input.command')).toBe('command');
      expect(formFieldOf('priority')).toBe('priority');
    });
  });
});

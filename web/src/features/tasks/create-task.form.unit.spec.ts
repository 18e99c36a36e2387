import { describe, expect, it } from 'vitest';
import { emptyTaskForm, taskLimits, toCreateBody, validateTask } from './create-task.form';

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

  it('sends a cost cap only to claude-code, the CLI that enforces one, and checks its range', () => {
    const form = { ...emptyTaskForm('claude-code'), description: 'fix', prompt: 'Fix it', maxCostUsd: 2.5 };
    expect(toCreateBody(form).input).toEqual({ prompt: 'Fix it', permissionMode: 'read-only', maxCostUsd: 2.5 });
    expect(toCreateBody({ ...form, tool: 'gemini-cli' }).input).not.toHaveProperty('maxCostUsd');
    expect(validateTask({ ...form, maxCostUsd: 0 }, ['claude-code']).maxCostUsd).toMatch(/More than \$0/);
    expect(validateTask(form, ['claude-code']).maxCostUsd).toBeUndefined();
  });

  it('refuses a tool no online worker offers', () => {
    const form = { ...emptyTaskForm('ollama'), description: 'x', prompt: 'y' };
    expect(validateTask(form, ['shell']).tool).toMatch(/No online worker/);
  });

  it('checks the numeric limits', () => {
    const form = { ...emptyTaskForm('noop'), description: 'x', priority: 101, timeoutSeconds: 0, maxAttempts: 21 };
    expect(Object.keys(validateTask(form, ['noop'])).sort()).toEqual(['maxAttempts', 'priority', 'timeoutSeconds']);
  });
});

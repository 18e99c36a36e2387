import { describe, expect, it } from 'vitest';
import { formToSpec, specToForm } from './task-spec.form';

describe('task-spec form', () => {
  it('keeps an agent node’s permission mode, turns, session and budget through an edit (never silently back to read-only)', () => {
    const spec = {
      tool: 'claude-code' as const,
      input: {
        prompt: 'Fix {{run.input.issue}}',
        permissionMode: 'edit',
        maxTurns: 20,
        resumeSession: 's-1',
        budget: { maxTokens: 50_000, maxCostUsd: 3 },
        cwd: 'repo',
      },
    };
    const form = specToForm(spec);
    expect(form).toMatchObject({ permissionMode: 'edit', maxTurns: 20, resumeSession: 's-1', budgetMaxTokens: 50_000, budgetMaxCostUsd: 3 });
    expect(formToSpec({ ...form, prompt: 'Fix it' }, spec).input).toEqual({
      prompt: 'Fix it',
      permissionMode: 'edit',
      maxTurns: 20,
      resumeSession: 's-1',
      budget: { maxTokens: 50_000, maxCostUsd: 3 },
      cwd: 'repo',
    });
    expect(formToSpec({ ...form, budgetMaxTokens: null, budgetMaxCostUsd: null }, spec).input).not.toHaveProperty('budget');
  });

  it('reads claude-code’s older top-level cost cap as the budget’s (the lower one) and saves it there', () => {
    const spec = { tool: 'claude-code' as const, input: { prompt: 'Fix', maxCostUsd: 2, budget: { maxCostUsd: 5 } } };
    const form = specToForm(spec);
    expect(form.budgetMaxCostUsd).toBe(2);
    expect(formToSpec(form, spec).input).toEqual({ prompt: 'Fix', permissionMode: 'read-only', budget: { maxCostUsd: 2 } });
  });

  it('gives a node without them the read-only default', () => {
    const spec = { tool: 'codex' as const, input: { prompt: 'Explain' } };
    expect(formToSpec(specToForm(spec), spec).input).toEqual({ prompt: 'Explain', permissionMode: 'read-only' });
  });

  it('keeps a node’s repository through an edit and a change between tools that take one, and drops it when cleared', () => {
    const spec = {
      tool: 'shell' as const,
      input: { command: 'make', workspace: { repo: '{{run.input.repo}}', ref: 'main', push: true }, env: { CI: '1' } },
    };
    const form = specToForm(spec);
    expect(form).toMatchObject({ workspaceRepo: '{{run.input.repo}}', workspaceRef: 'main', workspacePush: true });
    expect(formToSpec({ ...form, command: 'make test' }, spec).input).toEqual({
      command: 'make test',
      workspace: { repo: '{{run.input.repo}}', ref: 'main', push: true },
      env: { CI: '1' },
    });
    const asAgent = formToSpec({ ...form, tool: 'claude-code', prompt: 'Fix it' }, spec);
    expect(asAgent.input).toEqual({ prompt: 'Fix it', permissionMode: 'read-only', workspace: { repo: '{{run.input.repo}}', ref: 'main', push: true } });
    expect(formToSpec({ ...form, workspaceRepo: '' }, spec).input).toEqual({ command: 'make', env: { CI: '1' } });
  });
});

import { describe, expect, it } from 'vitest';
import { formToSpec, specToForm } from './task-spec.form';

describe('task-spec form', () => {
  it('keeps an agent node’s permission mode and turns through an edit (never silently back to read-only)', () => {
    const spec = {
      tool: 'claude-code' as const,
      input: { prompt: 'Fix {{run.input.issue}}', permissionMode: 'edit', maxTurns: 20, maxCostUsd: 3, cwd: 'repo' },
    };
    const form = specToForm(spec);
    expect(form).toMatchObject({ permissionMode: 'edit', maxTurns: 20, maxCostUsd: 3 });
    expect(formToSpec({ ...form, prompt: 'Fix it' }, spec).input).toEqual({
      prompt: 'Fix it',
      permissionMode: 'edit',
      maxTurns: 20,
      maxCostUsd: 3,
      cwd: 'repo',
    });
  });

  it('gives a node without them the read-only default', () => {
    const spec = { tool: 'codex' as const, input: { prompt: 'Explain' } };
    expect(formToSpec(specToForm(spec), spec).input).toEqual({ prompt: 'Explain', permissionMode: 'read-only' });
  });
});

/*
 * A workflow node's task edited with the create-task form's model (create-task.form.ts): the same
 * fields per tool, the same defaults and limits, and `toCreateBody` building the input. A node's
 * description is optional and its strings may hold `{{…}}` placeholders, so the form's required-
 * description rule does not apply here; the server checks the rest (validate endpoint).
 */
import type { TaskSpec } from '@/api/client';
import { emptyTaskForm, toCreateBody, type TaskForm } from '../tasks/create-task.form';

/** The create-task form filled from a node's task. */
export function specToForm(spec: TaskSpec): TaskForm {
  const form = emptyTaskForm(spec.tool);
  const input = spec.input ?? {};
  return {
    ...form,
    description: spec.description ?? '',
    command: typeof input.command === 'string' ? input.command : '',
    prompt: typeof input.prompt === 'string' ? input.prompt : '',
    model: typeof input.model === 'string' ? input.model : '',
    permissionMode: input.permissionMode === 'edit' ? 'edit' : 'read-only',
    maxTurns: typeof input.maxTurns === 'number' ? input.maxTurns : null,
    ...budgetFields(input),
    resumeSession: typeof input.resumeSession === 'string' ? input.resumeSession : '',
    ...workspaceFields(input.workspace),
    priority: spec.priority ?? form.priority,
    timeoutSeconds: spec.timeoutSeconds ?? form.timeoutSeconds,
    maxAttempts: spec.maxAttempts ?? form.maxAttempts,
  };
}

/** The node's task from the form; keeps what the form does not show (requirements, other input fields). */
export function formToSpec(form: TaskForm, previous?: TaskSpec): TaskSpec {
  const body = toCreateBody(form);
  const known = new Set(['command', 'prompt', 'model', 'permissionMode', 'maxTurns', 'maxCostUsd', 'budget', 'resumeSession', 'workspace']);
  const kept = Object.fromEntries(Object.entries(previous?.input ?? {}).filter(([k]) => !known.has(k)));
  const spec: TaskSpec = {
    ...(form.description.trim() ? { description: form.description.trim() } : {}),
    tool: body.tool,
    input: { ...(previous?.tool === body.tool ? kept : {}), ...body.input },
    priority: body.priority,
    timeoutSeconds: body.timeoutSeconds,
    maxAttempts: body.maxAttempts,
  };
  if (previous?.requirements) spec.requirements = previous.requirements;
  return spec;
}

/**
 * A node's caps as the form's budget fields. claude-code's older top-level `maxCostUsd` counts as
 * the budget's cost cap (the lower of the two applies), so an edit saves it as `budget.maxCostUsd`.
 */
function budgetFields(input: Record<string, unknown>): Pick<TaskForm, 'budgetMaxTokens' | 'budgetMaxCostUsd'> {
  const b = input.budget && typeof input.budget === 'object' ? (input.budget as Record<string, unknown>) : {};
  const costs = [b.maxCostUsd, input.maxCostUsd].filter((c): c is number => typeof c === 'number');
  return {
    budgetMaxTokens: typeof b.maxTokens === 'number' ? b.maxTokens : null,
    budgetMaxCostUsd: costs.length > 0 ? Math.min(...costs) : null,
  };
}

/** A node's `input.workspace` as the form's repository fields (empty when it has none). */
function workspaceFields(value: unknown): Pick<TaskForm, 'workspaceRepo' | 'workspaceRef' | 'workspacePush'> {
  const w = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  return {
    workspaceRepo: typeof w.repo === 'string' ? w.repo : '',
    workspaceRef: typeof w.ref === 'string' ? w.ref : '',
    workspacePush: w.push === true,
  };
}

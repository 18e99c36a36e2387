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
    maxCostUsd: typeof input.maxCostUsd === 'number' ? input.maxCostUsd : null,
    priority: spec.priority ?? form.priority,
    timeoutSeconds: spec.timeoutSeconds ?? form.timeoutSeconds,
    maxAttempts: spec.maxAttempts ?? form.maxAttempts,
  };
}

/** The node's task from the form; keeps what the form does not show (requirements, other input fields). */
export function formToSpec(form: TaskForm, previous?: TaskSpec): TaskSpec {
  const body = toCreateBody(form);
  const known = new Set(['command', 'prompt', 'model', 'permissionMode', 'maxTurns', 'maxCostUsd']);
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

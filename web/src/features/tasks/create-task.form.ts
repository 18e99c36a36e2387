/*
 * The create-task form as plain data: defaults and limits come from contracts (the same numbers
 * the API validates with), `validateTask` mirrors the API's rules for instant feedback, and
 * `toCreateBody` builds the request. Tested in create-task.form.unit.spec.ts.
 */
import { taskLimits } from '@agentyard/contracts';
import type { CreateTaskBody, ToolName } from '@/api/client';
import { tools } from './tools';

export { taskLimits };

export interface TaskForm {
  description: string;
  tool: ToolName | null;
  command: string;
  prompt: string;
  model: string;
  /** Agent CLIs: may the tool change files in the task's directory. */
  permissionMode: 'read-only' | 'edit';
  /** Agent CLIs: most turns (claude-code honours it); null = the tool's default. */
  maxTurns: number | null;
  /** claude-code only (the one CLI that enforces a cap): most dollars its model calls may cost; null = no cap. */
  maxCostUsd: number | null;
  priority: number;
  timeoutSeconds: number;
  maxAttempts: number;
}

export function emptyTaskForm(tool: ToolName | null = null): TaskForm {
  return {
    description: '',
    tool,
    command: '',
    prompt: '',
    model: '',
    permissionMode: 'read-only',
    maxTurns: null,
    maxCostUsd: null,
    priority: taskLimits.priority.default,
    timeoutSeconds: taskLimits.timeoutSeconds.default,
    maxAttempts: taskLimits.maxAttempts.default,
  };
}

export type TaskFormErrors = Partial<Record<keyof TaskForm, string>>;

const inRange = (n: number, r: { min: number; max: number }) => Number.isInteger(n) && n >= r.min && n <= r.max;

export function validateTask(form: TaskForm, availableTools: readonly ToolName[]): TaskFormErrors {
  const e: TaskFormErrors = {};
  if (!form.description.trim()) e.description = 'Describe the task';
  else if (form.description.length > taskLimits.descriptionMax) e.description = `At most ${taskLimits.descriptionMax} characters`;
  if (!form.tool) e.tool = 'Pick a tool';
  else if (!availableTools.includes(form.tool)) e.tool = 'No online worker offers this tool right now';
  const fields = form.tool ? tools[form.tool].fields : 'none';
  if (fields === 'command' && !form.command.trim()) e.command = 'Enter a command';
  if (fields === 'prompt' && !form.prompt.trim()) e.prompt = 'Enter a prompt';
  if (form.maxTurns !== null && !inRange(form.maxTurns, { min: 1, max: 500 })) e.maxTurns = '1–500 turns, or empty for the tool’s default';
  if (form.maxCostUsd !== null && !(form.maxCostUsd > 0 && form.maxCostUsd <= 10_000)) e.maxCostUsd = 'More than $0 and at most $10,000, or empty for no cap';
  if (!inRange(form.priority, taskLimits.priority)) e.priority = `${taskLimits.priority.min}–${taskLimits.priority.max}`;
  if (!inRange(form.timeoutSeconds, taskLimits.timeoutSeconds)) e.timeoutSeconds = `${taskLimits.timeoutSeconds.min}–${taskLimits.timeoutSeconds.max} seconds`;
  if (!inRange(form.maxAttempts, taskLimits.maxAttempts)) e.maxAttempts = `${taskLimits.maxAttempts.min}–${taskLimits.maxAttempts.max}`;
  return e;
}

export function toCreateBody(form: TaskForm): CreateTaskBody {
  if (!form.tool) throw new Error('toCreateBody: no tool');
  const fields = tools[form.tool].fields;
  const agent = tools[form.tool].agent === true;
  const input: Record<string, unknown> =
    fields === 'command'
      ? { command: form.command }
      : fields === 'prompt'
        ? {
            prompt: form.prompt,
            ...(form.model.trim() ? { model: form.model.trim() } : {}),
            ...(agent ? { permissionMode: form.permissionMode } : {}),
            ...(agent && form.maxTurns !== null ? { maxTurns: form.maxTurns } : {}),
            ...(form.tool === 'claude-code' && form.maxCostUsd !== null ? { maxCostUsd: form.maxCostUsd } : {}),
          }
        : {};
  return {
    description: form.description.trim(),
    tool: form.tool,
    input,
    priority: form.priority,
    timeoutSeconds: form.timeoutSeconds,
    maxAttempts: form.maxAttempts,
  };
}

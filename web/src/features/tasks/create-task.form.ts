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
  if (!inRange(form.priority, taskLimits.priority)) e.priority = `${taskLimits.priority.min}–${taskLimits.priority.max}`;
  if (!inRange(form.timeoutSeconds, taskLimits.timeoutSeconds)) e.timeoutSeconds = `${taskLimits.timeoutSeconds.min}–${taskLimits.timeoutSeconds.max} seconds`;
  if (!inRange(form.maxAttempts, taskLimits.maxAttempts)) e.maxAttempts = `${taskLimits.maxAttempts.min}–${taskLimits.maxAttempts.max}`;
  return e;
}

export function toCreateBody(form: TaskForm): CreateTaskBody {
  if (!form.tool) throw new Error('toCreateBody: no tool');
  const fields = tools[form.tool].fields;
  const input: Record<string, unknown> =
    fields === 'command'
      ? { command: form.command }
      : fields === 'prompt'
        ? { prompt: form.prompt, ...(form.model.trim() ? { model: form.model.trim() } : {}) }
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

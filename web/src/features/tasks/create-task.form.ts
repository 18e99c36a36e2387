/*
 * The create-task form as plain data: defaults and limits come from contracts (the same numbers
 * the API validates with), `validateTask` mirrors the API's rules for instant feedback (the
 * repository with the contracts' own workspace schema), and `toCreateBody` builds the request.
 * Tested in create-task.form.unit.spec.ts.
 */
import { taskLimits, workspaceInputSchema } from '@agentyard/contracts';
import type { CreateTaskBody, ToolName } from '@/api/client';
import { takesWorkspace, tools } from './tools';

export { taskLimits };

/** Shown in the repository field. (A literal `https://…` attribute in a template trips vue-tsc's codegen, so it is bound from here.) */
export const repoExample = 'https://github.com/acme/app.git';

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
  /** Shell and agent CLIs: a git repository to work in (URL or absolute path on the worker); empty = none. */
  workspaceRepo: string;
  /** Branch, tag or commit to start from; empty = the repository's HEAD. */
  workspaceRef: string;
  /** Push the task's branch to the repository when done. */
  workspacePush: boolean;
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
    workspaceRepo: '',
    workspaceRef: '',
    workspacePush: false,
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
  Object.assign(e, validateWorkspace(form));
  if (!inRange(form.priority, taskLimits.priority)) e.priority = `${taskLimits.priority.min}–${taskLimits.priority.max}`;
  if (!inRange(form.timeoutSeconds, taskLimits.timeoutSeconds)) e.timeoutSeconds = `${taskLimits.timeoutSeconds.min}–${taskLimits.timeoutSeconds.max} seconds`;
  if (!inRange(form.maxAttempts, taskLimits.maxAttempts)) e.maxAttempts = `${taskLimits.maxAttempts.min}–${taskLimits.maxAttempts.max}`;
  return e;
}

/** The task's `input.workspace`, when its tool takes one and a repository is given. */
export function workspaceOf(form: TaskForm): { repo: string; ref?: string; push?: boolean } | undefined {
  const repo = form.workspaceRepo.trim();
  if (!form.tool || !takesWorkspace(form.tool) || !repo) return undefined;
  const ref = form.workspaceRef.trim();
  return { repo, ...(ref ? { ref } : {}), ...(form.workspacePush ? { push: true } : {}) };
}

/** The contract's workspace rules, as hints on the repository and base-ref fields. */
function validateWorkspace(form: TaskForm): TaskFormErrors {
  if (!form.tool || !takesWorkspace(form.tool)) return {};
  const workspace = workspaceOf(form);
  if (!workspace) return form.workspaceRef.trim() ? { workspaceRef: 'A base ref needs a repository' } : {};
  const parsed = workspaceInputSchema.safeParse(workspace);
  if (parsed.success) return {};
  const e: TaskFormErrors = {};
  for (const issue of parsed.error.issues) {
    const field = issue.path[0] === 'ref' ? 'workspaceRef' : 'workspaceRepo';
    e[field] ??= issue.message;
  }
  return e;
}

/** The form field a server error's path names (`input.workspace.repo` → `workspaceRepo`). */
export function formFieldOf(path: string): string {
  const p = path.replace(/^input\./, '');
  if (p === 'workspace.repo' || p === 'workspace') return 'workspaceRepo';
  if (p === 'workspace.ref') return 'workspaceRef';
  if (p === 'workspace.push') return 'workspacePush';
  return p;
}

export function toCreateBody(form: TaskForm): CreateTaskBody {
  if (!form.tool) throw new Error('toCreateBody: no tool');
  const fields = tools[form.tool].fields;
  const agent = tools[form.tool].agent === true;
  const workspace = workspaceOf(form);
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
  if (workspace) input.workspace = workspace;
  return {
    description: form.description.trim(),
    tool: form.tool,
    input,
    priority: form.priority,
    timeoutSeconds: form.timeoutSeconds,
    maxAttempts: form.maxAttempts,
  };
}

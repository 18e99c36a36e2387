/*
 * The create-task form as plain data: defaults and limits come from contracts (the same numbers
 * the API validates with), `validateTask` mirrors the API's rules for instant feedback (the
 * repository and the budget with the contracts' own schemas), and `toCreateBody` builds the request.
 * Tested in create-task.form.unit.spec.ts.
 */
import { budgetSchema, taskLimits, workspaceInputSchema } from '@agentyard/contracts';
import type { CreateTaskBody, ToolName } from '@/api/client';
import { resumesSession, takesWorkspace, tools } from './tools';

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
  /** Prompt tools: most input + output tokens the run may use (`input.budget.maxTokens`); null = no cap. */
  budgetMaxTokens: number | null;
  /** Prompt tools: most dollars the run may cost (`input.budget.maxCostUsd`); null = no cap. */
  budgetMaxCostUsd: number | null;
  /** claude-code and codex: the session id of an earlier task to continue (`input.resumeSession`); empty = a new session. */
  resumeSession: string;
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
    budgetMaxTokens: null,
    budgetMaxCostUsd: null,
    resumeSession: '',
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
  Object.assign(e, validateBudget(form));
  const session = sessionOf(form);
  if (session !== undefined && !/^[A-Za-z0-9._:-]{1,200}$/.test(session)) e.resumeSession = 'A session id: letters, digits and . _ : -';
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

/** The task's `input.budget`, when its tool takes a prompt and a cap is given. */
export function budgetOf(form: TaskForm): { maxTokens?: number; maxCostUsd?: number } | undefined {
  if (!form.tool || tools[form.tool].fields !== 'prompt') return undefined;
  const budget = {
    ...(form.budgetMaxTokens !== null ? { maxTokens: form.budgetMaxTokens } : {}),
    ...(form.budgetMaxCostUsd !== null ? { maxCostUsd: form.budgetMaxCostUsd } : {}),
  };
  return Object.keys(budget).length > 0 ? budget : undefined;
}

/** The contract's budget rules, as hints on the two budget fields. */
function validateBudget(form: TaskForm): TaskFormErrors {
  const budget = budgetOf(form);
  if (!budget) return {};
  const parsed = budgetSchema.safeParse(budget);
  if (parsed.success) return {};
  const e: TaskFormErrors = {};
  for (const issue of parsed.error.issues) e[issue.path[0] === 'maxTokens' ? 'budgetMaxTokens' : 'budgetMaxCostUsd'] ??= issue.message;
  return e;
}

/** The session to continue, trimmed, when the tool can resume one and an id is given. */
function sessionOf(form: TaskForm): string | undefined {
  const id = form.resumeSession.trim();
  return form.tool && resumesSession(form.tool) && id ? id : undefined;
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
  if (p === 'budget.maxTokens') return 'budgetMaxTokens';
  // claude-code's older top-level cap counts as the budget's cost cap.
  if (p === 'budget.maxCostUsd' || p === 'budget' || p === 'maxCostUsd') return 'budgetMaxCostUsd';
  return p;
}

export function toCreateBody(form: TaskForm): CreateTaskBody {
  if (!form.tool) throw new Error('toCreateBody: no tool');
  const fields = tools[form.tool].fields;
  const agent = tools[form.tool].agent === true;
  const workspace = workspaceOf(form);
  const budget = budgetOf(form);
  const session = sessionOf(form);
  const input: Record<string, unknown> =
    fields === 'command'
      ? { command: form.command }
      : fields === 'prompt'
        ? {
            prompt: form.prompt,
            ...(form.model.trim() ? { model: form.model.trim() } : {}),
            ...(agent ? { permissionMode: form.permissionMode } : {}),
            ...(agent && form.maxTurns !== null ? { maxTurns: form.maxTurns } : {}),
            ...(session ? { resumeSession: session } : {}),
            ...(budget ? { budget } : {}),
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

/*
 * What the create form asks for each tool. A Record over the API's tool names, so a tool added
 * to contracts fails the type check here until the form knows its fields.
 */
import type { ToolName } from '@/api/client';

export type ToolFields = 'command' | 'prompt' | 'none';

/** `agent`: an agent CLI that works in the task's directory (it may be allowed to edit there). */
export const tools: Record<ToolName, { label: string; fields: ToolFields; hint: string; agent?: boolean }> = {
  shell: { label: 'Shell', fields: 'command', hint: 'Runs one command line with /bin/sh -c in the task directory.' },
  'claude-code': { label: 'Claude Code', fields: 'prompt', hint: 'Runs the Claude Code CLI with your prompt.', agent: true },
  'gemini-cli': { label: 'Gemini CLI', fields: 'prompt', hint: 'Runs the Gemini CLI with your prompt.', agent: true },
  codex: { label: 'Codex', fields: 'prompt', hint: 'Runs the OpenAI Codex CLI with your prompt.', agent: true },
  ollama: { label: 'Ollama', fields: 'prompt', hint: 'Runs a local model through Ollama.' },
  'claude-api': { label: 'Claude API', fields: 'prompt', hint: 'Calls the Claude API from the worker.' },
  'gemini-api': { label: 'Gemini API', fields: 'prompt', hint: 'Calls the Gemini API from the worker.' },
  'openai-compatible': { label: 'OpenAI-compatible API', fields: 'prompt', hint: 'Calls an OpenAI-compatible server (vLLM, LM Studio, …) from the worker.' },
  noop: { label: 'No-op', fields: 'none', hint: 'Does nothing and succeeds: checks the pipeline end to end.' },
};

export const toolNames = Object.keys(tools) as ToolName[];

/** Tools that may work in a git repository the agent checks out (`input.workspace`): the shell and the agent CLIs. */
export function takesWorkspace(tool: ToolName): boolean {
  return tool === 'shell' || tools[tool].agent === true;
}

/** Agent CLIs that can continue an earlier task's session (`input.resumeSession`); gemini-cli cannot yet. */
export function resumesSession(tool: ToolName): boolean {
  return tool === 'claude-code' || tool === 'codex';
}

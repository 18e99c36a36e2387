/*
 * Every tool the agent knows, and detection of which ones this machine can run. Detection runs at
 * start-up (version probes spawn processes) and again every --tool-probe-interval seconds
 * (`refreshTools`): the result goes into registration and every heartbeat, so a tool that stops
 * working here stops getting tasks, and one installed since starts to. Each present tool's
 * credentials are checked in the same pass (tool-health.ts): a tool whose key stops working stays
 * listed but unhealthy, with the reason, and allocation places nothing on it until it recovers.
 * The chat tools also report the model ids their vendor or server lists (`models`), so a task
 * naming a model none of them offers waits with that reason instead of failing on a worker; the
 * CLIs report none: they take aliases (`sonnet`, `pro`) that no models list names.
 */
import { toolDetailMaxLength, type ToolName, type WorkerTool } from '@agentyard/contracts/agent';
import { claudeApiTool, geminiApiTool, ollamaApiTool, openaiCompatibleTool } from './api-tool';
import { claudeCodeTool } from './claude-code.tool';
import { geminiCliTool } from './gemini-cli.tool';
import { codexTool } from './codex.tool';
import { noopTool } from './noop.tool';
import { shellTool } from './shell.tool';
import type { Tool } from './tool';
import { noCredentialsNeeded, type ToolHealthReport } from './tool-health';

/** Tools whose models list says which `input.model` they can run: the chat tools, which send it to the API verbatim. */
export const toolsReportingModels: ReadonlySet<ToolName> = new Set<ToolName>(['claude-api', 'gemini-api', 'openai-compatible', 'ollama']);

/** All tools in the order they are reported. */
export function allTools(env: NodeJS.ProcessEnv = process.env): Tool[] {
  return [
    shellTool(),
    claudeCodeTool(env.PATH, env),
    geminiCliTool(env.PATH, env),
    codexTool(env.PATH, env),
    ollamaApiTool(env),
    claudeApiTool(env),
    geminiApiTool(env),
    openaiCompatibleTool(env),
    noopTool(),
  ];
}

export interface DetectedTools {
  /** For registration and heartbeats. */
  list: WorkerTool[];
  /** Tools that can run here, by name. */
  available: Map<ToolName, Tool>;
}

/** Asks every tool whether it runs here and, if so, whether its credentials work (all in parallel; a failing probe counts as absent). */
export async function detectTools(tools: Tool[]): Promise<DetectedTools> {
  const results = await Promise.all(
    tools.map(async (tool) => {
      const found = await tool.detect().catch(() => null);
      if (!found) return null;
      const health = tool.checkHealth ? await tool.checkHealth().catch((error: unknown) => failedCheck(error)) : noCredentialsNeeded;
      return { found, health };
    }),
  );
  const list: WorkerTool[] = [];
  const available = new Map<ToolName, Tool>();
  tools.forEach((tool, i) => {
    const result = results[i];
    if (!result) return;
    const { found, health } = result;
    const detail = health.detail === undefined ? undefined : reportable(health.detail);
    const models = toolsReportingModels.has(tool.name) && health.models ? { models: [...health.models].sort() } : {};
    list.push({
      name: tool.name,
      version: found.version === null ? null : found.version.slice(0, 100),
      health: health.health,
      auth: health.auth,
      ...(detail ? { detail } : {}),
      ...models,
    });
    // An unhealthy tool stays runnable: a task placed on it a moment before keeps its chance (and its real error).
    available.set(tool.name, tool);
  });
  return { list, available };
}

/** A check that threw instead of answering (a bug, not the vendor): unhealthy, saying so. */
function failedCheck(error: unknown): ToolHealthReport {
  return { health: 'unhealthy', auth: 'unknown', detail: `the health check failed: ${error instanceof Error ? error.name : 'error'}` };
}

/** A detail the contracts accept: printable characters only, at most toolDetailMaxLength. */
function reportable(detail: string): string {
  return detail
    .replace(/[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/g, ' ')
    .trim()
    .slice(0, toolDetailMaxLength);
}

/** Same list of models (both sorted by detectTools), or both unknown. */
function sameModels(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  if (!a || !b) return !a === !b;
  return a.length === b.length && a.every((m, i) => m === b[i]);
}

/** What a probe changed: tools that joined, tools that dropped out (by name), and tools whose health or auth changed. */
export interface ToolChanges {
  added: WorkerTool[];
  removed: ToolName[];
  /** Still present, same version, but healthy ↔ unhealthy, another auth verdict or another model list. */
  health: WorkerTool[];
}

/**
 * Probes `tools` again and updates `detected` in place (the heartbeat and the agent hold it), so
 * the next heartbeat reports the change. A running task keeps the tool it started with.
 */
export async function refreshTools(detected: DetectedTools, tools: Tool[]): Promise<ToolChanges> {
  const fresh = await detectTools(tools);
  const before = new Map(detected.list.map((t) => [t.name, t]));
  const added = fresh.list.filter((t) => !before.has(t.name) || before.get(t.name)!.version !== t.version);
  const health = fresh.list.filter((t) => {
    const was = before.get(t.name);
    return was !== undefined && was.version === t.version && (was.health !== t.health || was.auth !== t.auth || !sameModels(was.models, t.models));
  });
  const removed = detected.list.filter((t) => !fresh.available.has(t.name)).map((t) => t.name);
  detected.list.splice(0, detected.list.length, ...fresh.list);
  detected.available.clear();
  for (const [name, tool] of fresh.available) detected.available.set(name, tool);
  return { added, removed, health };
}

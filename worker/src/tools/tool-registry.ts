/*
 * Every tool the agent knows, and detection of which ones this machine can run. Detection runs at
 * start-up (version probes spawn processes) and again every --tool-probe-interval seconds
 * (`refreshTools`): the result goes into registration and every heartbeat, so a tool that stops
 * working here stops getting tasks, and one installed since starts to.
 */
import type { ToolName, WorkerTool } from '@agentyard/contracts/agent';
import { claudeApiTool, geminiApiTool, ollamaApiTool, openaiCompatibleTool } from './api-tool';
import { claudeCodeTool } from './claude-code.tool';
import { geminiCliTool } from './gemini-cli.tool';
import { codexTool } from './codex.tool';
import { noopTool } from './noop.tool';
import { shellTool } from './shell.tool';
import type { Tool } from './tool';

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

/** Asks every tool whether it runs here (in parallel; a failing probe counts as absent). */
export async function detectTools(tools: Tool[]): Promise<DetectedTools> {
  const results = await Promise.all(tools.map((tool) => tool.detect().catch(() => null)));
  const list: WorkerTool[] = [];
  const available = new Map<ToolName, Tool>();
  tools.forEach((tool, i) => {
    const found = results[i];
    if (!found) return;
    list.push({ name: tool.name, version: found.version === null ? null : found.version.slice(0, 100) });
    available.set(tool.name, tool);
  });
  return { list, available };
}

/** What a probe changed: tools that joined and tools that dropped out (by name). */
export interface ToolChanges {
  added: WorkerTool[];
  removed: ToolName[];
}

/**
 * Probes `tools` again and updates `detected` in place (the heartbeat and the agent hold it), so
 * the next heartbeat reports the change. A running task keeps the tool it started with.
 */
export async function refreshTools(detected: DetectedTools, tools: Tool[]): Promise<ToolChanges> {
  const fresh = await detectTools(tools);
  const before = new Map(detected.list.map((t) => [t.name, t.version]));
  const added = fresh.list.filter((t) => !before.has(t.name) || before.get(t.name) !== t.version);
  const removed = detected.list.filter((t) => !fresh.available.has(t.name)).map((t) => t.name);
  detected.list.splice(0, detected.list.length, ...fresh.list);
  detected.available.clear();
  for (const [name, tool] of fresh.available) detected.available.set(name, tool);
  return { added, removed };
}

/*
 * Every tool the agent knows, and detection of which ones this machine can run. Detection runs
 * once at start-up (version probes spawn processes); the result goes into registration and every
 * heartbeat.
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

/**
 * One attempt of a tool as the agent runs it: the command in a TaskProcess (PTY, the production
 * wrapper), its output split into lines and fed to the tool's stream parser.
 */
import type { AgentEvent, StreamParser } from '../../src/tools/agent-stream';
import { LineSplitter } from '../../src/tools/agent-stream';
import { TaskProcess, type TaskExit } from '../../src/execution/task-process';

export interface ToolRun {
  events: AgentEvent[];
  exit: TaskExit;
  output: string;
}

export async function runToolInPty(
  command: { file: string; args: string[]; env: Record<string, string>; cwd: string },
  parser: StreamParser,
  timeoutSeconds = 45,
): Promise<ToolRun> {
  const lines = new LineSplitter();
  const events: AgentEvent[] = [];
  let output = '';
  const proc = new TaskProcess({
    ...command,
    timeoutSeconds,
    onData: (data) => {
      output += data;
      for (const line of lines.feed(data)) events.push(...parser.push(line));
    },
  });
  const exit = await proc.finished;
  for (const line of lines.flush()) events.push(...parser.push(line));
  events.push(...parser.end());
  return { events, exit, output };
}

/*
 * `noop`: does nothing and succeeds, without a process. It checks the whole pipeline (queue →
 * allocation → agent → result) and is the benchmarks' workload, so what they measure is the
 * platform's machinery rather than fork/exec. The agent short-circuits it (worker-agent.ts).
 */
import { noopInputSchema } from '@agentyard/contracts/agent';
import { ToolInputError, type Tool } from './tool';

export function noopTool(): Tool {
  return {
    name: 'noop',
    inputSchema: noopInputSchema,
    detect: async () => ({ version: 'builtin' }),
    buildCommand: () => {
      throw new ToolInputError('noop runs no command');
    },
  };
}

/* `shell`: always available; runs the input's command line with /bin/sh -c. */
import { existsSync } from 'node:fs';
import { shellInputSchema, type ShellInput } from '@agentyard/contracts/agent';
import type { Tool } from './tool';

export const shellPath = '/bin/sh';

export function shellTool(): Tool<ShellInput> {
  return {
    name: 'shell',
    inputSchema: shellInputSchema,
    async detect() {
      return existsSync(shellPath) ? { version: null } : null;
    },
    buildCommand(input) {
      return { file: shellPath, args: ['-c', input.command], env: {} };
    },
  };
}

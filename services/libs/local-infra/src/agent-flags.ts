import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Node flags the worker agent runs with, read from the shebang of its installed command
 * (`worker/bin/agentyard-worker.js`, `#!/usr/bin/env -S node <flags>`), so launchers that start
 * `worker/dist/main.js` directly run it exactly as an installed agent runs.
 */
export function agentNodeFlags(repoRoot: string): string[] {
  const first = readFileSync(join(repoRoot, 'worker', 'bin', 'agentyard-worker.js'), 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first);
  return match ? match[1]!.trim().split(/\s+/).filter(Boolean) : [];
}

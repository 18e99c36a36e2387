import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The agent's version from worker/package.json (read at run time: same path from src/ and dist/). */
export const agentVersion: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/*
 * What the agent tools share: only the variables a tool needs leave the agent's environment
 * (pickEnv), a prompt passed as an argument cannot be read as an option (promptArg), and a CLI's
 * own state lives in a home of its own inside the attempt's directory (prepareToolHome).
 */
import { chownSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The subset of `env` named in `names` that is set. */
export function pickEnv(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * A prompt is passed right after its flag, as each CLI documents. One that starts with "-" would be
 * read as an option, so it gets a leading space: harmless to a model, invisible to option parsers.
 */
export function promptArg(prompt: string): string {
  return prompt.startsWith('-') ? ` ${prompt}` : prompt;
}

/**
 * Creates `<attempt>/<relDir>` (e.g. `.agentyard/codex-home`), owned like the attempt dir (the task
 * may run as another uid), and returns its path. Per attempt, so no config, login or session of
 * the machine's user or of another task reaches the CLI.
 */
export function prepareToolHome(attemptRoot: string, relDir: string): string {
  const home = join(attemptRoot, relDir);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const owner = statSync(attemptRoot);
  if (process.getuid && (owner.uid !== process.getuid() || owner.gid !== process.getgid!())) {
    for (let dir = home; dir !== attemptRoot && dir.startsWith(attemptRoot); dir = dirname(dir)) chownSync(dir, owner.uid, owner.gid);
  }
  return home;
}

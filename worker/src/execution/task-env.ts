/*
 * A task's environment is built from scratch: a short allow-list of the agent's own variables
 * (enough for a shell and CLIs to behave), then what the tool forwards (its API key), then the
 * task's own `env`. Nothing else of the agent's environment leaks into a task — it may hold the
 * platform credential's neighbours, cloud keys, tokens. Proven in test/worker-agent.int.spec.ts
 * (a parent SECRET_X is absent in the task). A task's secret references (`{ secret: name }`) are
 * replaced by the values the platform gave this attempt (withSecretValues) — in memory only.
 */
import { isSecretRef, type EnvValue } from '@agentyard/contracts/agent';

export const inheritedEnvNames = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TERM', 'USER', 'SHELL', 'TZ'] as const;

/** Used when the agent itself has none (e.g. started by systemd), so tools see a sane PATH/TERM. */
const fallbacks: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  TERM: 'xterm-256color',
};

/** The environment a task process starts with. Later sources win: allow-listed host vars, tool vars, task vars. */
export function buildTaskEnv(hostEnv: NodeJS.ProcessEnv, toolEnv: Record<string, string>, taskEnv: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of inheritedEnvNames) {
    const value = hostEnv[name] ?? fallbacks[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...toolEnv, ...taskEnv };
}

/** The task's env with each secret reference replaced by its value; throws naming a reference the platform gave no value for. */
export function withSecretValues(taskEnv: Record<string, EnvValue> = {}, values: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(taskEnv)) {
    if (!isSecretRef(value)) {
      env[name] = value;
      continue;
    }
    const resolved = values[value.secret];
    if (resolved === undefined) throw new Error(`the platform sent no value for secret ${value.secret} (env ${name})`);
    env[name] = resolved;
  }
  return env;
}

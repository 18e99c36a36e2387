/*
 * What the agent tools share: only the variables a tool needs leave the agent's environment
 * (pickEnv), and a prompt passed as an argument cannot be read as an option (promptArg).
 */
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

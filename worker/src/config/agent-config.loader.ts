/*
 * Reads `agent.yaml`: the same options as the flags, for machines where the agent runs as a
 * service. A missing or malformed file is an OptionsError (exit 2), never silently ignored — a
 * typo in a config file should not start a worker with defaults.
 */
import { readFileSync } from 'node:fs';
import { OptionsError, type RawOptions } from './worker-options';

/** Parses the YAML file at `path` into raw options (validated later with the flags). */
export function loadAgentConfig(path: string): RawOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new OptionsError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let value: unknown;
  try {
    // Loaded only here: most agents run on flags, and the parser costs ~8 MB of resident memory.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy
    const { parse } = require('yaml') as typeof import('yaml');
    value = parse(text);
  } catch (error) {
    throw new OptionsError(`config file ${path} is not valid YAML: ${(error as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new OptionsError(`config file ${path} must be a mapping of option: value`);
  return value as RawOptions;
}

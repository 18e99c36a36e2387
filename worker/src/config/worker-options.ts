/*
 * The agent's options: flags, `agent.yaml`, defaults — in that order of precedence. One zod schema
 * validates the merged result, so a bad value is reported the same way wherever it came from and
 * names the flag to fix (the CLI turns an OptionsError into exit code 2).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { labelSchema, registrationTokenPattern } from '@agentyard/contracts/agent';
import { isolationModes } from '../isolation/isolation.decide';

/** Options as they arrive from flags or YAML: loosely typed, validated by `resolveWorkerOptions`. */
export type RawOptions = Record<string, unknown>;

const commaList = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value,
  z.array(labelSchema).max(20, 'at most 20 labels'),
);

export const workerOptionsSchema = z
  .object({
    /** Platform base URL, e.g. http://host:8080. Required by `start`. */
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://host:8080' }).optional(),
    /** Registration token (`ayr_…`); only needed until this machine has credentials for the URL. */
    token: z.string().regex(registrationTokenPattern, 'is not a registration token (expected ayr_<id>.<secret>)').optional(),
    /** Tasks run at once. Default 1. */
    slots: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(256, 'must be at most 256').default(1),
    /** Display name. Default: the hostname. */
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[\w.@ -]+$/, 'may use letters, digits, space and _.@-')
      .optional(),
    /** Labels allocation can match on, e.g. gpu,linux. Default none. */
    labels: commaList.default([]),
    /** Credentials and task working directories. Default ~/.agentyard. */
    stateDir: z.string().min(1).default('~/.agentyard'),
    /** Seconds running tasks may finish after SIGTERM before they are killed and handed back. Default 60. */
    drainTimeout: z.coerce
      .number()
      .int('must be a whole number')
      .min(0)
      .max(24 * 3600)
      .default(60),
    /**
     * How tasks are kept from the agent and each other (isolation.decide.ts). Default auto:
     * bubblewrap, else (as root) a task uid, else refuse to start; `none` runs them unisolated.
     */
    isolation: z.enum(isolationModes, { error: `must be one of ${isolationModes.join(', ')}` }).default('auto'),
    /**
     * Seconds between two probes of the tools (their version checks): a CLI removed, broken by an
     * upgrade or installed since drops out of (or joins) the heartbeat, so allocation places its
     * tasks only where it runs. Default 300; 0 = probe only at start.
     */
    toolProbeInterval: z.coerce.number().int('must be a whole number').min(0).max(86_400).default(300),
    /**
     * The watchdog's default for tasks without a policy of their own: a running task with no
     * output, no CPU and no file change for this many seconds is reported stalled (notify only;
     * execution/stall-watch.ts). Default 0 = off.
     */
    stallSeconds: z.coerce
      .number()
      .int('must be a whole number')
      .refine((s) => s === 0 || (s >= 10 && s <= 86_400), 'must be 0 (off) or 10–86400 seconds')
      .default(0),
    /**
     * Directories whose git repositories tasks may name by path (`workspace.repo`), comma-separated.
     * Default none: tasks then name repositories by URL only.
     */
    repoRoot: z
      .preprocess(
        (value) =>
          typeof value === 'string'
            ? value
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : value,
        z.array(z.string().startsWith('/', 'must be absolute paths')).max(20, 'at most 20 directories'),
      )
      .default([]),
  })
  .strict();
export type WorkerOptions = z.infer<typeof workerOptionsSchema>;

/** A user-fixable option problem; the CLI prints it and exits 2. */
export class OptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionsError';
  }
}

/** Merges YAML values under flag values (flags win) and validates; throws OptionsError naming each bad option. */
export function resolveWorkerOptions(flags: RawOptions, fromFile: RawOptions = {}): WorkerOptions {
  const merged: RawOptions = { ...normaliseKeys(fromFile) };
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) merged[key] = value;
  const parsed = workerOptionsSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown option(s): ${issue.keys.map(flagName).join(', ')}`;
      const key = issue.path[0];
      return `${typeof key === 'string' ? flagName(key) : 'options'}: ${issue.message}`;
    });
    throw new OptionsError(`invalid options — ${problems.join('; ')}`);
  }
  return { ...parsed.data, stateDir: expandHome(parsed.data.stateDir) };
}

/** `stateDir` → `--state-dir`, so messages name what the user typed. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** YAML may spell keys like the flags (`state-dir`) or in camelCase (`stateDir`). */
function normaliseKeys(values: RawOptions): RawOptions {
  const out: RawOptions = {};
  for (const [key, value] of Object.entries(values)) out[key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  return out;
}

function expandHome(path: string): string {
  if (path === '~') return homedir();
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/** Base URL without trailing slashes: the key credentials are stored under. */
export function normaliseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

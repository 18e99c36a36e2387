/*
 * The agent's options: flags, `agent.yaml`, defaults — in that order of precedence. One zod schema
 * validates the merged result, so a bad value is reported the same way wherever it came from and
 * names the flag to fix (the CLI turns an OptionsError into exit code 2).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { labelSchema, registrationTokenPattern } from '@agentyard/contracts/agent';
import type { PriceTable } from '../execution/budget.decide';
import { isolationModes } from '../isolation/isolation.decide';
import { resolvePriceTable } from './price-table';

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

/** Longest `--worktree-retention`: a year. */
const maxRetentionSeconds = 365 * 86_400;
const durationUnits: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };
const byteUnits: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `3600`, `90s`, `30m`, `24h`, `7d`, `1.5h` → seconds; undefined when it is none of these. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/i.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * durationUnits[match[2]!.toLowerCase()]!;
}

/** `1048576`, `512K`, `500M`, `10G`, `10GiB`, `10GB`, `1.5T` → bytes (binary units: 1G = 1024³); undefined when it is none of these. */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?$/i.exec(text.trim());
  if (!match) return undefined;
  return Math.floor(Number(match[1]) * byteUnits[(match[2] ?? '').toLowerCase()]!);
}

/** A flag or YAML value read by `parse`; positive, at most `max`. */
function positiveQuantity(parse: (text: string) => number | undefined, what: string, example: string, max: number, maxText: string) {
  return z.union([z.number(), z.string()], { error: `must be ${what}, e.g. ${example}` }).transform((value, ctx) => {
    const amount = typeof value === 'number' ? value : parse(value);
    if (amount === undefined || !Number.isFinite(amount)) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not ${what} (e.g. ${example})` });
      return z.NEVER;
    }
    if (amount <= 0) {
      ctx.addIssue({ code: 'custom', message: `must be positive, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    if (amount > max) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${maxText}, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return amount;
  });
}

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
    /**
     * How long a finished workspace task's worktree is kept (for a look at what the task left)
     * before it is removed, in seconds: a number, or with a unit s/m/h/d (`90m`, `24h`, `7d`).
     * Default 24 h. The branch stays in the mirror either way.
     */
    worktreeRetention: positiveQuantity(parseDuration, 'a duration', '3600, 90m, 24h or 7d', maxRetentionSeconds, '365d').default(86_400),
    /**
     * Most disk the worktrees (finished and running) may use together, in bytes or with a binary
     * unit K/M/G/T (`500M`, `10G`); over it, finished ones are removed oldest first (running ones
     * never). Default 10G.
     */
    worktreeDiskBudget: positiveQuantity(parseByteSize, 'a size', '500M, 10G or 1T', Number.MAX_SAFE_INTEGER, '8P').default(10 * 1024 ** 3),
    /**
     * Prices per model for tasks' cost caps (`budget.maxCostUsd`) on tools that report no cost: the
     * path of a JSON/YAML file, or (agent.yaml) the mapping itself; price-table.ts has the shape.
     * Default none. Checked and loaded by resolveWorkerOptions.
     */
    prices: z.union([z.string().min(1), z.record(z.string(), z.unknown())], { error: 'must be a file path or a mapping of model: price' }).optional(),
  })
  .strict();
export type WorkerOptions = Omit<z.infer<typeof workerOptionsSchema>, 'prices'> & { prices: PriceTable };

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
  const prices = resolvePriceTable(typeof parsed.data.prices === 'string' ? expandHome(parsed.data.prices) : parsed.data.prices);
  return { ...parsed.data, stateDir: expandHome(parsed.data.stateDir), prices };
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

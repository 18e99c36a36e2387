/*
 * How the agent runs git: argv only (never a shell), bounded in time and output, with no hooks,
 * no fsmonitor and no transports that run programs. Two kinds of call:
 * - on the agent's own mirror (fetch, push, worktree add): the machine's git config applies, so
 *   the agent's user's credentials and `insteadOf` rules reach the repository;
 * - on a worktree a task has written (add, commit, diff): no system or global config at all and
 *   the git dir given explicitly, so nothing the task left in its files (a `.git` of its own, a
 *   filter named in `.gitattributes`) makes the agent run a program of the task's choosing.
 */
import { execFile } from 'node:child_process';

/** A git command failed; `message` is its first stderr lines, fit for a task's error. */
export class GitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

/** Settings every call gets, whatever the config says. */
const hardening = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'protocol.ext.allow=never',
  '-c',
  'protocol.fd.allow=never',
  // The worktree belongs to the task's uid when the agent runs as root.
  '-c',
  'safe.directory=*',
  '-c',
  'advice.detachedHead=false',
];

export interface GitOptions {
  cwd?: string;
  /** Default 120 s: a clone of a large repository over the network can take a while. */
  timeoutMs?: number;
  /** Run with no system/global config (calls on a task's worktree). */
  isolatedConfig?: boolean;
  /** Largest stdout kept; more is an error. Default 64 MiB. */
  maxBuffer?: number;
  /** Exit codes that are answers, not failures (e.g. 1 for `diff --quiet`). */
  okExitCodes?: number[];
  /** Written to git's stdin (a `--batch` command's queries). */
  input?: string;
  /** Added to the environment last: a repository credential's (repo-credentials.ts), never argv. */
  env?: Record<string, string>;
}

export interface GitResult {
  stdout: Buffer;
  exitCode: number;
}

/** Runs `git <args>`; rejects with GitError on another exit code, a timeout or too much output. */
export function git(args: string[], options: GitOptions = {}): Promise<GitResult> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    // An ssh remote must not stop to ask about a host key or a passphrase.
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
    ...(process.env.SSH_AUTH_SOCK ? { SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK } : {}),
    ...(options.isolatedConfig ? { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } : {}),
    ...options.env,
  };
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      [...hardening, ...args],
      { cwd: options.cwd, env, timeout: options.timeoutMs ?? 120_000, maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024, encoding: 'buffer' },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, exitCode: 0 });
        const code = typeof error.code === 'number' ? error.code : null;
        if (code !== null && options.okExitCodes?.includes(code)) return resolve({ stdout, exitCode: code });
        // Trimmed lines (ssh ends them with CR), without empty ones or ssh's @@@ banner rules.
        const said = stderr
          .toString('utf8')
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line !== '' && !/^@+$/.test(line))
          .slice(0, 3)
          .join(' / ');
        const why = error.killed ? 'timed out' : code === null ? error.message : said || `exit ${code}`;
        reject(new GitError(why.slice(0, 1000), code));
      },
    );
    child.stdin?.end(options.input);
  });
}

/** `git … ` and its stdout as trimmed text. */
export async function gitText(args: string[], options: GitOptions = {}): Promise<string> {
  return (await git(args, options)).stdout.toString('utf8').trim();
}

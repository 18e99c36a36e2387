/*
 * A workspace's repository credential (workspace.credentials, one of the owner's secrets), used
 * only by the agent's own git calls on its mirror (fetch, push) — never the tool's environment,
 * argv or files, nor the mirror's config:
 * - a token goes into git's environment-only config (GIT_CONFIG_COUNT/KEY/VALUE) as an
 *   `http.<scheme://host/>.extraHeader` Basic Authorization, scoped to the repository's host, so
 *   it is in neither argv (/proc/<pid>/cmdline) nor a file;
 * - an ssh deploy key is written 0600 into a fresh 0700 directory under the agent's state dir
 *   (outside every task's sandbox) for the duration of the call and removed afterwards; ssh runs
 *   with IdentitiesOnly, BatchMode and StrictHostKeyChecking=accept-new against the agent's own
 *   known_hosts (`<state-dir>/ssh/known_hosts`, checked together with the user's): a host is
 *   trusted on first use and a changed host key afterwards fails the fetch.
 * Git's messages are masked (`***`) before they reach a task's result.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface RepoCredential {
  kind: 'token' | 'ssh-key';
  value: string;
  /** Basic auth user name for a token (default `x-access-token`, as GitHub wants it). */
  username?: string;
}

/** The environment a token adds to a git call on `repo` (pure). */
export function tokenGitEnv(repo: string, credential: { value: string; username?: string }): Record<string, string> {
  const url = new URL(repo);
  const basic = Buffer.from(`${credential.username ?? 'x-access-token'}:${credential.value}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${url.protocol}//${url.host}/.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

/** GIT_SSH_COMMAND for a deploy key at `keyFile` (pure; paths single-quoted for the shell git runs it with). */
export function sshCommand(keyFile: string, knownHosts: string[]): string {
  return [
    'ssh',
    '-i',
    quote(keyFile),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=accept-new',
    '-o',
    quote(`UserKnownHostsFile=${knownHosts.join(' ')}`),
  ].join(' ');
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The forms of a credential that could show in git's messages, for masking. */
export function credentialForms(credential: RepoCredential): string[] {
  if (credential.kind === 'ssh-key') return [credential.value, ...credential.value.split('\n').filter((l) => l.length >= 16)];
  const basic = Buffer.from(`${credential.username ?? 'x-access-token'}:${credential.value}`).toString('base64');
  return [credential.value, basic, encodeURIComponent(credential.value)];
}

/** `text` with every form of the credential replaced by `***`. */
export function maskCredential(text: string, credential: RepoCredential | undefined): string {
  if (!credential) return text;
  let out = text;
  for (const form of credentialForms(credential).sort((a, b) => b.length - a.length)) if (form.length >= 4) out = out.split(form).join('***');
  return out;
}

/** Runs `work` with the environment that authenticates git on `repo`; a key file lives only meanwhile. */
export async function withRepoCredential<T>(
  stateDir: string,
  repo: string,
  credential: RepoCredential | undefined,
  work: (env: Record<string, string>) => Promise<T>,
): Promise<T> {
  if (!credential) return work({});
  if (credential.kind === 'token') return work(tokenGitEnv(repo, credential));
  const base = join(stateDir, 'credentials');
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const sshDir = join(stateDir, 'ssh');
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(base, 'key-'));
  try {
    const keyFile = join(dir, 'id');
    // ssh refuses a key without its final newline.
    writeFileSync(keyFile, credential.value.endsWith('\n') ? credential.value : `${credential.value}\n`, { mode: 0o600 });
    return await work({ GIT_SSH_COMMAND: sshCommand(keyFile, [join(sshDir, 'known_hosts'), join(homedir(), '.ssh', 'known_hosts')]) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/*
 * Repository credentials (workspace.credentials) with the compiled agent, a real nats-server, real
 * git and the machine's isolation. The fake platform answers the attempt's secrets as the gateway
 * would; the remotes are real:
 * - a smart-HTTP remote (`git http-backend` behind a server that wants one Authorization header):
 *   with the right token secret a task clones and pushes its branch; a wrong or missing token fails
 *   the task with a clear reason; the token is in no output, report, agent log (debug) or file of
 *   the worker, and the task's own process sees it nowhere (its env, `git config -l` in its
 *   worktree); a remote that echoes what it was sent gets its message masked;
 * - the token's header is scoped to its host: another host is not sent it;
 * - an ssh remote (a local sshd on a free port with its own host key, the deploy key authorized
 *   only for git-shell): clone and push with the deploy key, whose file is gone while the task
 *   runs and afterwards; a key the remote does not know fails clearly; the host key is trusted on
 *   first use (the agent's known_hosts) and a changed one afterwards fails the fetch.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Assignment, WorkReport } from '@agentyard/contracts';
import { startGitHttpServer, type GitHttpServer } from '@agentyard/local-infra';
import { tokenGitEnv } from '../src/workspace/repo-credentials';
import { mirrorName } from '../src/workspace/workspace-rules';
import { AgentHarness, eventually, shellTask, type StartedWorker } from './agent-harness';

jest.setTimeout(120_000);

const harness = new AgentHarness({ ...process.env, AGENTYARD_LOG_LEVEL: 'debug' });
const owner = 'owner-1';
const token = `ghp_${randomBytes(18).toString('hex')}`;
const basic = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
let projectRoot: string;
let http: GitHttpServer;
let worker: StartedWorker;

const git = (args: string[], cwd?: string): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();

/** `git ls-remote <url> HEAD` with `env` added, without blocking this process (it runs the servers). */
function lsRemote(url: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('git', ['ls-remote', url, 'HEAD'], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...env } }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve(stdout.trim()),
    ),
  );
}

/** A bare repository `<name>.git` under `root` with one commit on main. */
function bareRepo(root: string, name: string): string {
  const seed = join(root, `${name}-seed`);
  mkdirSync(seed);
  git(['init', '-q', '-b', 'main'], seed);
  writeFileSync(join(seed, 'README.md'), 'hello\n');
  git(['add', '.'], seed);
  git(['commit', '-q', '-m', 'first'], seed);
  const bare = join(root, `${name}.git`);
  git(['clone', '-q', '--bare', seed, bare]);
  return bare;
}

function workspaceTask(command: string, workspace: Record<string, unknown>): Assignment {
  const task = shellTask(command, { ownerId: owner });
  task.input = { command, workspace };
  return task;
}

/** Orders `task` with `secrets` as the platform's answer for its attempt, and waits for its end. */
async function run(task: Assignment, secrets: Record<string, string>): Promise<Extract<WorkReport, { kind: 'finished' }>> {
  harness.platform.taskSecrets.set(task.taskId, { status: 200, body: { values: secrets } });
  await harness.order(worker.workerId, task);
  return harness.observer.finished(task.taskId, 1, 60_000);
}

/** Everything the task put on the wire (output chunks, reports) and the agent's log, as one text. */
function everythingSaid(task: Assignment): string {
  const chunks = harness.observer.output.items.filter((i) => i.value.taskId === task.taskId).map((i) => JSON.stringify(i.value));
  const reports = harness.observer.reports.items.filter((i) => i.value.taskId === task.taskId).map((i) => JSON.stringify(i.value));
  return [...chunks, ...reports, worker.agent.log(), worker.agent.stdout()].join('\n');
}

/** Regular files under `dir` (no links followed) whose bytes contain one of `needles`. */
function filesHolding(dir: string, needles: string[]): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    try {
      const stat = lstatSync(path);
      if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
      else if (stat.isFile()) {
        const bytes = readFileSync(path);
        if (needles.some((n) => bytes.includes(n))) found.push(path);
      }
    } catch (error) {
      // A running attempt's files come and go (its sandbox's scratch files).
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  };
  walk(dir);
  return found;
}

beforeAll(async () => {
  await harness.setUp();
  projectRoot = harness.tempDir();
  bareRepo(projectRoot, 'project');
  // A remote that echoes what it was sent (its hook rejects every push).
  const hooked = bareRepo(projectRoot, 'hooked');
  writeFileSync(
    join(hooked, 'hooks', 'pre-receive'),
    '#!/bin/sh\necho "got $HTTP_AUTHORIZATION" >&2\necho "$HTTP_AUTHORIZATION" | cut -d" " -f2 | base64 -d >&2\necho >&2\nexit 1\n',
  );
  chmodSync(join(hooked, 'hooks', 'pre-receive'), 0o755);
  http = await startGitHttpServer(projectRoot, basic);
  worker = await harness.startWorker([]);
});
afterAll(async () => {
  await http?.close();
  await harness.tearDown();
});
afterEach(() => expect(harness.observer.invalid).toEqual([]));

describe('A workspace on an HTTPS-style remote with a token credential', () => {
  it('clones and pushes its branch with the right token, which the task’s process sees nowhere and no file, report or log holds', async () => {
    const repo = `${http.url}/project.git`;
    const task = workspaceTask(
      'env > seen-env.txt; git config -l > seen-git-config.txt 2>&1; cat .git > seen-dotgit.txt 2>&1; cat /proc/self/environ | tr "\\0" "\\n" > seen-environ.txt; echo change > new.txt',
      { repo, push: true, credentials: { secret: 'repo-token' } },
    );
    const done = await run(task, { 'repo-token': token });
    expect(done.outcome).toBe('succeeded');
    expect(done.result.workspace).toMatchObject({ pushed: true, filesChanged: 5 });
    expect(done.result.workspace?.error).toBeUndefined();
    const branch = `agentyard/${task.taskId}-1`;
    const remoteGit = join(projectRoot, 'project.git');
    expect(git(['rev-parse', `refs/heads/${branch}`], remoteGit)).toBe(done.result.workspace?.commit);
    // The server let the fetch and the push through only with the header.
    expect(http.requests.some((r) => r.path.endsWith('/git-receive-pack') && r.authorization === basic)).toBe(true);

    // What the task's process saw, read unmasked from the pushed commit.
    const forms = [token, basic.slice('Basic '.length), 'extraheader', 'extraHeader', 'GIT_CONFIG_', 'Authorization'];
    for (const file of ['seen-env.txt', 'seen-git-config.txt', 'seen-dotgit.txt', 'seen-environ.txt']) {
      const seen = git(['show', `${branch}:${file}`], remoteGit);
      for (const form of forms) expect({ file, holds: seen.includes(form), form }).toEqual({ file, holds: false, form });
    }
    expect(git(['show', `${branch}:seen-env.txt`], remoteGit)).toContain('AGENTYARD_OUTPUT='); // it did print its env

    // Not on the wire, not in the agent's log, not in any file of the worker (mirror config included).
    const said = everythingSaid(task);
    expect(said).toContain(`${task.taskId}`);
    expect(said).not.toContain(token);
    expect(said).not.toContain(basic.slice('Basic '.length));
    expect(filesHolding(worker.stateDir, [token, basic.slice('Basic '.length)])).toEqual([]);
    const mirrorConfig = readFileSync(join(worker.stateDir, 'repos', mirrorName(owner, repo), 'config'), 'utf8');
    expect(mirrorConfig).toContain(`url = ${repo}`);
    expect(mirrorConfig.toLowerCase()).not.toContain('extraheader');
  });

  it('fails the task with a clear reason for a wrong token or none, without starting its process or saying the token', async () => {
    const repo = `${http.url}/project.git`;
    const wrongValue = `ghp_${randomBytes(18).toString('hex')}`;
    const wrong = workspaceTask('echo should-not-run', { repo, credentials: { secret: 'repo-token' } });
    const refused = await run(wrong, { 'repo-token': wrongValue });
    expect(refused.outcome).toBe('failed');
    expect(refused.result.error).toMatch(
      new RegExp(`^could not fetch ${repo.replace(/[.]/g, '\\.')}: .+ \\(the repository refused the credential in workspace\\.credentials\\)$`),
    );
    const wrongBasic = Buffer.from(`x-access-token:${wrongValue}`).toString('base64');
    // The wrong token was sent (to this host), and is said nowhere.
    expect(http.requests.some((r) => r.authorization === `Basic ${wrongBasic}`)).toBe(true);
    expect(everythingSaid(wrong)).not.toContain(wrongValue);
    expect(everythingSaid(wrong)).not.toContain(wrongBasic);
    expect(everythingSaid(wrong)).not.toContain('should-not-run\r\n');

    const none = workspaceTask('echo should-not-run', { repo });
    const needs = await run(none, {});
    expect(needs.outcome).toBe('failed');
    expect(needs.result.error).toContain('(the repository needs credentials: set workspace.credentials to a secret holding a token or deploy key)');
    expect(filesHolding(worker.stateDir, [wrongValue, wrongBasic])).toEqual([]);
  });

  it('masks the token in a push error of a remote that echoes what it was sent', async () => {
    const task = workspaceTask('echo change > new.txt', { repo: `${http.url}/hooked.git`, push: true, credentials: { secret: 'repo-token' } });
    const done = await run(task, { 'repo-token': token });
    expect(done.outcome).toBe('succeeded');
    expect(done.result.workspace?.pushed).toBe(false);
    const error = done.result.workspace?.error ?? '';
    // The remote said both forms; the agent passed on neither.
    expect(error).toMatch(/^could not push agentyard\/.+: remote: got Basic \*\*\*\s*\/ remote: x-access-token:\*\*\*\s*\//);
    expect(everythingSaid(task)).not.toContain(token);
    expect(everythingSaid(task)).not.toContain(basic.slice('Basic '.length));
  });

  it('sends the token’s header to the repository’s host only, not to another host', async () => {
    const other = await startGitHttpServer(projectRoot, undefined);
    try {
      const env = tokenGitEnv(`${http.url}/project.git`, { value: token });
      // Asynchronously: the servers run in this process.
      const ls = await lsRemote(`${other.url}/project.git`, env);
      expect(ls).toMatch(/^[0-9a-f]{40}\tHEAD$/);
      expect(other.requests.length).toBeGreaterThan(0);
      expect(other.requests.map((r) => r.authorization)).toEqual(other.requests.map(() => undefined));
      // The same environment does authenticate on its own host.
      expect(await lsRemote(`${http.url}/project.git`, env)).toMatch(/^[0-9a-f]{40}\tHEAD$/);
    } finally {
      await other.close();
    }
  });
});

const sshd = '/usr/sbin/sshd';
const sshMissing = existsSync(sshd) ? undefined : `${sshd} is not installed (apt-get install openssh-server)`;
if (sshMissing) console.warn(`skipping the ssh deploy key cases: ${sshMissing}`);

(sshMissing ? describe.skip : describe)('A workspace on an ssh remote with a deploy key', () => {
  let dir: string;
  let port: number;
  let daemon: ChildProcess | undefined;
  let daemonLog = '';
  let deployKey: string;
  let repo: string;
  const user = userInfo().username;

  const keygen = (file: string): void => void execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', file]);

  async function startSshd(hostKey: string): Promise<void> {
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin forced-commands-only',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    daemonLog = '';
    daemon = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stderr?.on('data', (c: Buffer) => (daemonLog += c.toString()));
    await eventually(
      'sshd listening',
      () => {
        if (daemon?.exitCode !== null) throw new Error(`sshd exited: ${daemonLog}`);
        return daemonLog.includes('Server listening') ? true : undefined;
      },
      10_000,
    );
  }

  async function stopSshd(): Promise<void> {
    if (!daemon || daemon.exitCode !== null) return;
    const exited = new Promise((resolve) => daemon!.once('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
  }

  beforeAll(async () => {
    dir = harness.tempDir();
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
    keygen(join(dir, 'host_key'));
    keygen(join(dir, 'host_key_2'));
    keygen(join(dir, 'deploy_key'));
    keygen(join(dir, 'stranger_key'));
    deployKey = readFileSync(join(dir, 'deploy_key'), 'utf8');
    const pub = readFileSync(join(dir, 'deploy_key.pub'), 'utf8').trim();
    writeFileSync(join(dir, 'authorized_keys'), `restrict,command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"" ${pub}\n`);
    port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    await startSshd(join(dir, 'host_key'));
    repo = `ssh://${user}@127.0.0.1:${port}${join(projectRoot, 'project.git')}`;
  });
  afterAll(() => stopSshd());

  /** The longest line of the deploy key's base64 body: what a leak would show. */
  const keyLine = (): string => deployKey.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');

  it('clones and pushes with the deploy key, whose file is gone while the task runs and after, and trusts the host key on first use', async () => {
    const task = workspaceTask('env > seen-env.txt; while [ ! -e go ]; do sleep 0.1; done; echo change > new.txt', {
      repo,
      push: true,
      credentials: { secret: 'deploy-key', kind: 'ssh-key' },
    });
    harness.platform.taskSecrets.set(task.taskId, { status: 200, body: { values: { 'deploy-key': deployKey } } });
    await harness.order(worker.workerId, task);
    const tree = join(worker.stateDir, 'work', `${task.taskId}-1`, 'repo');
    await eventually('the task running in its worktree', () => (existsSync(join(tree, 'seen-env.txt')) ? true : undefined), 30_000);
    // While the tool runs the key is on no disk of the worker.
    expect(readdirSync(join(worker.stateDir, 'credentials'))).toEqual([]);
    expect(filesHolding(worker.stateDir, [keyLine()])).toEqual([]);
    writeFileSync(join(tree, 'go'), '');

    const done = await harness.observer.finished(task.taskId, 1, 60_000);
    expect(done.outcome).toBe('succeeded');
    expect(done.result.workspace).toMatchObject({ pushed: true });
    const branch = `agentyard/${task.taskId}-1`;
    expect(git(['rev-parse', `refs/heads/${branch}`], join(projectRoot, 'project.git'))).toBe(done.result.workspace?.commit);
    expect(readdirSync(join(worker.stateDir, 'credentials'))).toEqual([]);
    expect(filesHolding(worker.stateDir, [keyLine()])).toEqual([]);
    const seenEnv = git(['show', `${branch}:seen-env.txt`], join(projectRoot, 'project.git'));
    expect(seenEnv).not.toContain('GIT_SSH_COMMAND');
    expect(seenEnv).not.toContain(keyLine());
    expect(everythingSaid(task)).not.toContain(keyLine());
    // Trusted on first use: the host key is in the agent's own known_hosts.
    const hostPub = readFileSync(join(dir, 'host_key.pub'), 'utf8').split(' ')[1]!;
    // (ssh_config may hash the names: look the host up as ssh does.)
    const known = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${port}`, '-f', join(worker.stateDir, 'ssh', 'known_hosts')], { encoding: 'utf8' });
    expect(known).toContain(hostPub);
    expect(daemonLog).toMatch(/Accepted publickey for \S+ from 127\.0\.0\.1/);
  });

  it('fails clearly with a key the remote does not know, without saying the key', async () => {
    const stranger = readFileSync(join(dir, 'stranger_key'), 'utf8');
    const task = workspaceTask('echo should-not-run', { repo, ref: 'main', credentials: { secret: 'deploy-key' } });
    const done = await run(task, { 'deploy-key': stranger });
    expect(done.outcome).toBe('failed');
    expect(done.result.error).toContain('Permission denied (publickey)');
    expect(done.result.error).toContain('(the repository refused the credential in workspace.credentials)');
    const strangerLine = stranger.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
    expect(everythingSaid(task)).not.toContain(strangerLine);
    expect(readdirSync(join(worker.stateDir, 'credentials'))).toEqual([]);
  });

  it('refuses a host whose key changed after the first use', async () => {
    await stopSshd();
    await startSshd(join(dir, 'host_key_2'));
    const task = workspaceTask('echo should-not-run', { repo, ref: 'main', credentials: { secret: 'deploy-key' } });
    const done = await run(task, { 'deploy-key': deployKey });
    expect(done.outcome).toBe('failed');
    expect(done.result.error).toMatch(/^could not fetch ssh:\/\/.+: @\s+WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!/);
    expect(done.result.error).toContain(
      `(the host's key is not the one this worker trusted on first use, kept in ${join(worker.stateDir, 'ssh', 'known_hosts')})`,
    );
    expect(readdirSync(join(worker.stateDir, 'credentials'))).toEqual([]);
  });
});

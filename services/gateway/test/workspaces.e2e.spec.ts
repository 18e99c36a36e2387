/*
 * Workspaces through the whole platform: shell tasks on a real worker agent (as root, so in its
 * bubblewrap sandbox under a task uid) naming a repository — a local bare one under the worker's
 * --repo-root stands in for a remote. The agent checks out a worktree per attempt, commits and
 * pushes what the task changed, and uploads the diff, the full log and the files the task
 * declared; the owner downloads them. A follow-up continues on the earlier branch. Bad input is
 * refused at the API when it can be (400, nothing created) and otherwise fails the task with a
 * message a person can act on, leaving nothing behind on the worker.
 * With a second worker: a follow-up on an unpushed branch always lands on the worker that ran the
 * earlier attempt (the branch is only in its mirror), the other saying why; it waits while that
 * worker is offline and runs there once it is back; a pushed branch's follow-up may run anywhere,
 * that worker preferred.
 * A private repository over HTTP (git http-backend wanting one Authorization header): a task whose
 * workspace.credentials name the owner's token secret clones and pushes, and never sees the token;
 * a secret the owner lacks is a 400, a missing credential a failed task with the reason.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskView, WorkerView } from '@agentyard/contracts';
import { startGitHttpServer, startPlatform, type GitHttpServer, type Platform, type WorkerAgentProcess } from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';

jest.setTimeout(120_000);

let platform: Platform;
let alice: { client: ApiClient; userId: string; token: string };
let bob: { client: ApiClient; userId: string; token: string };
let worker: WorkerAgentProcess;
let scratch: string;
let roots: string;
let remote: string;

const git = (args: string[], cwd?: string): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();

async function create(input: Record<string, unknown>): Promise<{ status: number; body: TaskView & { message?: string } }> {
  return alice.client.post<TaskView & { message?: string }>('/api/v1/tasks', { description: 'workspace task', tool: 'shell', input, maxAttempts: 1 });
}

async function run(input: Record<string, unknown>): Promise<TaskView> {
  const res = await create(input);
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return eventually(
    `task ${res.body.id} to end`,
    async () => {
      const task = (await alice.client.get<TaskView>(`/api/v1/tasks/${res.body.id}`)).body;
      return ['succeeded', 'failed', 'timed_out', 'cancelled'].includes(task.status) ? task : undefined;
    },
    60_000,
  );
}

/** What the worker keeps of an attempt once it ended: nothing in work/. */
const leftOnWorker = (taskId: string): string[] => readdirSync(join(worker.stateDir, 'work')).filter((name) => name.startsWith(taskId));

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ay-workspaces-'));
  roots = join(scratch, 'repos');
  mkdirSync(roots);
  const seed = join(scratch, 'seed');
  mkdirSync(join(seed, 'docs'), { recursive: true });
  git(['init', '-q', '-b', 'main'], seed);
  writeFileSync(join(seed, 'README.md'), '# project\n');
  writeFileSync(join(seed, 'docs', 'guide.md'), 'guide\n');
  // A repository is untrusted too: a link out of it must not become a task's working directory.
  symlinkSync('/etc', join(seed, 'escape'));
  git(['add', '.'], seed);
  git(['commit', '-q', '-m', 'start'], seed);
  remote = join(roots, 'project.git');
  git(['clone', '-q', '--bare', seed, remote]);

  platform = await startPlatform();
  const api = new ApiClient(platform.url);
  alice = await api.signUp('alice');
  bob = await api.signUp('bob');
  const token = await alice.client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
  worker = platform.startWorker({ token: token.body.token, name: 'repos', slots: 2, extraArgs: ['--repo-root', roots] });
  await eventually('the worker online', async () => {
    const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
    return res.body.items.find((w) => w.name === 'repos' && w.status === 'online');
  });
}, 180_000);

afterAll(async () => {
  await platform?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('Workspaces', () => {
  let first: TaskView;

  it('runs a task in a worktree of the repository, commits and pushes its change, and keeps its diff, log and declared files for the owner', async () => {
    first = await run({
      command: 'echo "more" >> README.md && echo "findings" > "$AGENTYARD_ARTIFACTS/report.txt" && pwd && echo done-here',
      workspace: { repo: remote, ref: 'main', push: true },
    });
    expect(first.status).toBe('succeeded');
    expect(first.result?.outputTail).toMatch(new RegExp(`/work/${first.id}-1/repo\\s`));
    const ws = first.result!.workspace!;
    expect(ws).toMatchObject({ repo: remote, baseRef: 'main', branch: `agentyard/${first.id}-1`, filesChanged: 1, insertions: 1, deletions: 0, pushed: true });
    expect(ws.baseCommit).toBe(git(['rev-parse', 'main'], remote));
    expect(git(['rev-parse', `refs/heads/${ws.branch}`], remote)).toBe(ws.commit);
    expect(git(['show', `${ws.commit}:README.md`], remote)).toBe('# project\nmore');

    expect(first.result?.artifacts?.map((a) => a.name).sort()).toEqual(['diff.patch', 'diff.stat', 'log', 'report.txt']);
    const list = await alice.client.get<{ items: { name: string; attempt: number; bytes: number }[] }>(`/api/v1/tasks/${first.id}/artifacts`);
    expect(list.body.items.map((i) => i.name).sort()).toEqual(['diff.patch', 'diff.stat', 'log', 'report.txt']);
    const patch = (await alice.client.download(`/api/v1/tasks/${first.id}/artifacts/diff.patch`)).bytes.toString('utf8');
    expect(patch).toContain('+++ b/README.md');
    expect(patch).toContain('+more');
    expect((await alice.client.download(`/api/v1/tasks/${first.id}/artifacts/diff.stat`)).bytes.toString('utf8')).toContain('1 file changed');
    expect((await alice.client.download(`/api/v1/tasks/${first.id}/artifacts/report.txt`)).bytes.toString('utf8')).toBe('findings\n');
    const log = await alice.client.download(`/api/v1/tasks/${first.id}/logs`);
    expect(log.status).toBe(200);
    expect(log.bytes.toString('utf8')).toContain('done-here');
    expect((await bob.client.download(`/api/v1/tasks/${first.id}/logs`)).status).toBe(404);
    expect(leftOnWorker(first.id)).toEqual([]);
  });

  it('lets a follow-up task continue on the earlier attempt’s branch, in a directory inside the repository', async () => {
    const next = await run({ command: 'cat ../../README.md && pwd', cwd: 'docs/new', workspace: { repo: remote, ref: first.result!.workspace!.branch } });
    expect(next.status).toBe('succeeded');
    expect(next.result?.outputTail).toContain('more');
    expect(next.result?.outputTail).toContain(`/work/${next.id}-1/repo/docs/new`);
    // It changed nothing: no commit, no diff, only its log.
    expect(next.result?.workspace).toMatchObject({ baseCommit: first.result!.workspace!.commit, commit: null, filesChanged: 0, pushed: false });
    expect(next.result?.artifacts?.map((a) => a.name)).toEqual(['log']);
  });

  it('refuses at the API what can never work (a cwd that escapes, a repository that is no URL nor absolute path, a ref that is an option), creating nothing', async () => {
    const before = (await alice.client.get<{ items: TaskView[] }>('/api/v1/tasks?limit=200')).body.items.length;
    const cases: [Record<string, unknown>, string][] = [
      [{ command: 'true', cwd: '../../..', workspace: { repo: remote } }, 'cwd'],
      [{ command: 'true', workspace: { repo: 'relative/dir' } }, 'workspace.repo'],
      [{ command: 'true', workspace: { repo: remote, ref: '--upload-pack=touch /tmp/x' } }, 'ref'],
      [{ command: 'true', workspace: { repo: remote, push: 'yes' } }, 'push'],
      [{ command: 'true', workspace: { repo: 'ext::sh -c touch% /tmp/pwned' } }, 'workspace.repo'],
    ];
    for (const [input, field] of cases) {
      const res = await create(input);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain(field);
    }
    expect((await alice.client.get<{ items: TaskView[] }>('/api/v1/tasks?limit=200')).body.items.length).toBe(before);
  });

  it('fails a task whose repository or ref the worker cannot have, saying why, and leaves nothing behind', async () => {
    const mirrors = readdirSync(join(worker.stateDir, 'repos')).length;
    const outside = join(scratch, 'elsewhere.git');
    git(['clone', '-q', '--bare', remote, outside]);
    const cases: [Record<string, unknown>, string][] = [
      [{ repo: remote, ref: 'no-such-branch' }, 'ref no-such-branch is not a branch, tag or commit of'],
      [{ repo: outside }, 'is not under a directory this worker allows (--repo-root'],
      [{ repo: join(roots, 'missing.git') }, 'does not exist on this worker'],
      [{ repo: 'https://127.0.0.1:9/nothing.git' }, 'could not fetch https://127.0.0.1:9/nothing.git'],
    ];
    for (const [workspace, message] of cases) {
      const task = await run({ command: 'echo should-not-run', workspace });
      expect(task.status).toBe('failed');
      expect(task.result?.error).toContain(message);
      expect(task.result?.outputTail ?? '').not.toContain('should-not-run');
      expect(leftOnWorker(task.id)).toEqual([]);
    }
    // The failed fetches made no mirror (the unknown ref used the existing one).
    expect(readdirSync(join(worker.stateDir, 'repos')).length).toBe(mirrors);
  });

  it('refuses a cwd that is a link out of the repository, and runs nothing there', async () => {
    const task = await run({ command: 'touch agentyard-was-here', cwd: 'escape/sub', workspace: { repo: remote } });
    expect(task.status).toBe('failed');
    expect(task.result?.error).toContain('escape in the repository is not a directory');
    expect(existsSync('/etc/sub')).toBe(false);
    expect(leftOnWorker(task.id)).toEqual([]);
  });
});

describe('Repository credentials', () => {
  // The value is random per run, so finding it anywhere can only mean a leak.
  const token = `ghp_${randomBytes(18).toString('hex')}`;
  const basic = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  let http: GitHttpServer;
  let repo: string;

  beforeAll(async () => {
    http = await startGitHttpServer(roots, basic);
    repo = `${http.url}/project.git`;
  });
  afterAll(() => http?.close());

  it('clone and push a private repository with the owner’s token secret, which the task never sees', async () => {
    expect((await alice.client.post('/api/v1/secrets', { name: 'repo_token', value: token })).status).toBe(201);
    const task = await run({
      command: 'env | grep -c ghp_ || true; echo private >> README.md',
      workspace: { repo, push: true, credentials: { secret: 'repo_token' } },
    });
    expect(task.status).toBe('succeeded');
    expect(task.result?.outputTail).toMatch(/^0\s/m); // no variable of the task holds the token
    expect(task.result?.workspace).toMatchObject({ pushed: true, filesChanged: 1 });
    expect(git(['rev-parse', `refs/heads/agentyard/${task.id}-1`], remote)).toBe(task.result?.workspace?.commit);
    expect(http.requests.some((r) => r.path.endsWith('/git-receive-pack') && r.authorization === basic)).toBe(true);
    const log = (await alice.client.download(`/api/v1/tasks/${task.id}/logs`)).bytes.toString('utf8');
    expect(JSON.stringify(task) + log).not.toContain(token);
  });

  it('refuses a task naming a secret its owner does not have (400 naming the field), and fails one without a token with the reason', async () => {
    const missing = await create({ command: 'true', workspace: { repo, credentials: { secret: 'not_mine' } } });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('input.workspace.credentials');
    expect(JSON.stringify(missing.body)).toContain('you have no secret named not_mine');

    const without = await run({ command: 'true', workspace: { repo } });
    expect(without.status).toBe('failed');
    expect(without.result?.error).toContain(`could not fetch ${repo}`);
    expect(without.result?.error).toContain('(the repository needs credentials: set workspace.credentials to a secret holding a token or deploy key)');
  });
});

describe('Follow-ups with two workers', () => {
  type Allocation = {
    workerId: string | null;
    candidates: Array<{ workerId: string; eligible: boolean; rejectedBecause: string[]; scores: { affinity: number } }>;
  };
  let second: WorkerAgentProcess;
  let firstId: string;
  let secondId: string;

  const workerNamed = async (name: string, status: string) =>
    eventually(`worker ${name} ${status}`, async () => {
      const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
      return res.body.items.find((w) => w.name === name && w.status === status);
    });

  async function runOn(input: Record<string, unknown>, requirements: Record<string, unknown> = {}): Promise<TaskView> {
    const res = await alice.client.post<TaskView>('/api/v1/tasks', { description: 'follow-up', tool: 'shell', input, maxAttempts: 1, requirements });
    if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
    return ended(res.body.id);
  }

  const ended = (id: string): Promise<TaskView> =>
    eventually(
      `task ${id} to end`,
      async () => {
        const task = (await alice.client.get<TaskView>(`/api/v1/tasks/${id}`)).body;
        return ['succeeded', 'failed', 'timed_out', 'cancelled'].includes(task.status) ? task : undefined;
      },
      90_000,
    );

  const allocationOf = async (id: string): Promise<Allocation> => (await alice.client.get<Allocation>(`/api/v1/tasks/${id}/allocation`)).body;

  beforeAll(async () => {
    firstId = (await workerNamed('repos', 'online')).id;
    const token = await alice.client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
    second = platform.startWorker({ token: token.body.token, name: 'repos-2', slots: 2, extraArgs: ['--repo-root', roots] });
    secondId = (await workerNamed('repos-2', 'online')).id;
  }, 120_000);

  it('places every follow-up on an unpushed branch on the worker that ran the earlier attempt, the other worker saying why', async () => {
    // Earlier attempts pinned in turn to each worker; their branches stay in that worker's mirror.
    const pins = [firstId, secondId, firstId, secondId];
    const earlier = await Promise.all(pins.map((workerId, i) => runOn({ command: `echo "note-${i}" > note.txt`, workspace: { repo: remote } }, { workerId })));
    earlier.forEach((task, i) => {
      expect(task).toMatchObject({ status: 'succeeded', workerId: pins[i] });
      expect(task.result?.workspace).toMatchObject({ branch: `agentyard/${task.id}-1`, pushed: false });
      expect(git(['branch', '--list', `agentyard/${task.id}-1`], remote)).toBe('');
    });

    // Unpinned: a naive placement would put them all on one worker (equal scores, smallest id).
    const followUps = await Promise.all(earlier.map((task) => runOn({ command: 'cat note.txt', workspace: { repo: remote, ref: `agentyard/${task.id}-1` } })));
    followUps.forEach((task, i) => {
      expect(task).toMatchObject({ status: 'succeeded', workerId: pins[i] });
      expect(task.result?.outputTail).toContain(`note-${i}`);
    });
    const decision = await allocationOf(followUps[1]!.id);
    expect(decision.workerId).toBe(secondId);
    expect(decision.candidates.find((c) => c.workerId === firstId)).toMatchObject({
      eligible: false,
      rejectedBecause: [`branch agentyard/${earlier[1]!.id}-1 is only on worker repos-2`],
    });
  });

  it('waits while the worker holding the branch is offline, saying so, and runs there once it is back', async () => {
    const earlier = await runOn({ command: 'echo kept > kept.txt', workspace: { repo: remote } }, { workerId: secondId });
    expect(earlier).toMatchObject({ status: 'succeeded', workerId: secondId });
    await second.stop();
    await workerNamed('repos-2', 'offline');

    const created = await alice.client.post<TaskView>('/api/v1/tasks', {
      description: 'follow-up while its worker is away',
      tool: 'shell',
      input: { command: 'cat kept.txt', workspace: { repo: remote, ref: `agentyard/${earlier.id}-1` } },
      maxAttempts: 1,
    });
    expect(created.status).toBe(201);
    const deferral = await eventually('a deferral naming the offline worker', async () => {
      const res = await alice.client.get<Allocation>(`/api/v1/tasks/${created.body.id}/allocation`);
      return res.status === 200 && res.body.candidates.length === 2 ? res.body : undefined;
    });
    expect(deferral.workerId).toBeNull();
    expect(deferral.candidates.find((c) => c.workerId === firstId)?.rejectedBecause).toEqual([
      `branch agentyard/${earlier.id}-1 is only on worker repos-2: it is offline, the task waits for it`,
    ]);
    expect(deferral.candidates.find((c) => c.workerId === secondId)?.rejectedBecause).toContain('offline');
    expect((await alice.client.get<TaskView>(`/api/v1/tasks/${created.body.id}`)).body.status).toBe('queued');

    // Back with its state (credential, mirror): the task runs there.
    second = platform.startWorker({ stateDir: second.stateDir, name: 'repos-2', slots: 2, extraArgs: ['--repo-root', roots] });
    const done = await ended(created.body.id);
    expect(done).toMatchObject({ status: 'succeeded', workerId: secondId });
    expect(done.result?.outputTail).toContain('kept');
  });

  it('lets a follow-up on a pushed branch run on any worker, preferring the one that ran the earlier attempt', async () => {
    const earlier = await runOn({ command: 'echo pushed > pushed.txt', workspace: { repo: remote, push: true } }, { workerId: secondId });
    expect(earlier).toMatchObject({ status: 'succeeded', workerId: secondId, result: { workspace: { pushed: true } } });
    const ref = `agentyard/${earlier.id}-1`;

    const preferred = await runOn({ command: 'cat pushed.txt', workspace: { repo: remote, ref } });
    expect(preferred.status).toBe('succeeded');
    const scores = await allocationOf(preferred.id);
    // Both eligible; the holder has the full affinity, the other at most half (load figures may still tip a close call).
    expect(scores.candidates.every((c) => c.eligible)).toBe(true);
    expect(scores.candidates.find((c) => c.workerId === secondId)?.scores.affinity).toBe(1);
    expect(scores.candidates.find((c) => c.workerId === firstId)?.scores.affinity).toBeLessThanOrEqual(0.5);

    // With that worker drained, the other one takes it, fetching the branch from the remote.
    expect(await alice.client.call('POST', `/api/v1/workers/${secondId}/drain`, {})).toMatchObject({ status: 200 });
    try {
      const elsewhere = await runOn({ command: 'cat pushed.txt', workspace: { repo: remote, ref } });
      expect(elsewhere).toMatchObject({ status: 'succeeded', workerId: firstId });
      expect(elsewhere.result?.outputTail).toContain('pushed');
    } finally {
      await alice.client.call('POST', `/api/v1/workers/${secondId}/resume`, {});
    }
  });
});

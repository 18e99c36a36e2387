// Task assigned → tool process started on the agent, with a git worktree per attempt and without
// one, in the same run on the same agent (the peer), plus what git alone takes for the same
// worktree in this process (the floor). Times are when the messages appear on NATS: the
// assignment on `work.assign.<worker>`, and the task's first output on `work.output.<worker>.<task>`
// (the command is `echo go`, so the first output follows the process start). A workspace task
// reports `started` when its checkout begins, so that report cannot time the process start.
// Usage: COUNT=40 FILES=500 node bench/agents/worktree-start.bench.mjs (after a build)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, sleep, startBenchPlatform } from '../tasks/bench-platform.mjs';

const require = createRequire(import.meta.url);
const { connect, credsAuthenticator } = require('@nats-io/transport-node');
const COUNT = Number(process.env.COUNT ?? 40);
const FILES = Number(process.env.FILES ?? 500);

// A repository of FILES small source files in 20 directories, three commits deep.
const repoRoot = mkdtempSync(join(tmpdir(), 'ay-bench-repos-'));
const repo = join(repoRoot, 'app');
const git = (cwd, ...args) => execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], { cwd, stdio: 'pipe' }).toString();
mkdirSync(repo);
git(repo, 'init', '-q', '-b', 'main');
for (let c = 0; c < 3; c++) {
  for (let i = 0; i < FILES; i++) {
    mkdirSync(join(repo, `src${i % 20}`), { recursive: true });
    writeFileSync(join(repo, `src${i % 20}`, `f${i}.ts`), `export const v${i} = ${c};\n`.repeat(20));
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', `commit ${c}`);
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (xs) => `p50 ${pct(xs, 50).toFixed(1).padStart(6)} ms  p99 ${pct(xs, 99).toFixed(1).padStart(6)} ms  (n=${xs.length})`;

// The floor: fetch into a bare mirror and add a worktree on a new branch, as the agent does.
const floor = [];
{
  const mirror = join(repoRoot, 'mirror.git');
  git(repoRoot, 'clone', '-q', '--bare', repo, mirror);
  for (let i = 0; i < COUNT; i++) {
    const t0 = performance.now();
    git(mirror, 'fetch', '-q', repo, '+refs/heads/*:refs/heads/*');
    git(mirror, 'worktree', 'add', '-q', '-b', `bench-${i}`, join(repoRoot, `wt-${i}`), 'main');
    floor.push(performance.now() - t0);
  }
}

const { platform, base, token, stop } = await startBenchPlatform({ workers: 1, slots: 4, extraArgs: ['--repo-root', repoRoot] });
try {
  const nc = await connect({ servers: platform.nats.url, authenticator: credsAuthenticator(readFileSync(platform.natsCredsFile)) });
  const seen = new Map(); // taskId → { assign, started }
  for (const subject of ['work.assign.>', 'work.output.>']) {
    nc.subscribe(subject, {
      callback: (_e, m) => {
        const label = subject.startsWith('work.assign') ? 'assign' : 'output';
        const taskId = label === 'assign' ? m.json().taskId : m.subject.split('.').pop();
        const t = seen.get(taskId) ?? {};
        t[label] ??= performance.now();
        seen.set(taskId, t);
      },
    });
  }
  await nc.flush();
  const run = async (input) => {
    const { id } = await api(base, token, 'POST', '/api/v1/tasks', { description: 'bench', tool: 'shell', input });
    for (;;) {
      const task = await api(base, token, 'GET', `/api/v1/tasks/${id}`);
      if (['succeeded', 'failed', 'timed_out', 'cancelled'].includes(task.status)) {
        if (task.status !== 'succeeded') throw new Error(`task ${id} ${task.status}: ${task.result?.error ?? ''}`);
        return id;
      }
      await sleep(20);
    }
  };
  // Warm up both paths (the first workspace task clones the mirror), then alternate them.
  await run({ command: 'echo go' });
  await run({ command: 'echo go', workspace: { repo } });
  const plain = [];
  const withWorktree = [];
  const followUp = [];
  for (let i = 0; i < COUNT; i++) {
    let previous;
    for (const [input, into] of [
      [() => ({ command: 'echo go' }), plain],
      [() => ({ command: 'echo go', workspace: { repo } }), withWorktree],
      // Continues on the branch the task before it left (no fetch: the agent's own branch).
      [() => ({ command: 'echo go', workspace: { repo, ref: `agentyard/${previous}-1` } }), followUp],
    ]) {
      const id = await run(input());
      previous = id;
      await sleep(50);
      const t = seen.get(id);
      if (t?.assign && t?.output) into.push(t.output - t.assign);
    }
  }
  console.log(`repository: ${FILES * 1} files × 3 commits; ${COUNT} tasks each, one at a time, alternating`);
  console.log(`assigned → first output, no workspace (peer)   ${fmt(plain)}`);
  console.log(`assigned → first output, worktree per attempt  ${fmt(withWorktree)}`);
  console.log(`assigned → first output, follow-up on its branch  ${fmt(followUp)}`);
  console.log(`git alone: fetch + worktree add (floor)         ${fmt(floor)}`);
  console.log(
    `ratios (p50): worktree / peer ${(pct(withWorktree, 50) / pct(plain, 50)).toFixed(2)}, worktree / git floor ${(pct(withWorktree, 50) / pct(floor, 50)).toFixed(2)}`,
  );
  await nc.close();
} finally {
  await stop();
  rmSync(repoRoot, { recursive: true, force: true });
}
process.exit(0);

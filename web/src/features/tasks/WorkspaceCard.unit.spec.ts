import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { Task } from '@/api/client';
import { task } from '@/test/fake-server';
import WorkspaceCard from './WorkspaceCard.vue';

type WorkspaceResult = NonNullable<NonNullable<Task['result']>['workspace']>;

const finished = (workspace: WorkspaceResult, push = false) =>
  task({
    status: 'succeeded',
    input: { command: 'make', workspace: { repo: 'https://github.com/acme/app.git', ref: 'main', ...(push ? { push: true } : {}) } },
    result: { exitCode: 0, outputTail: '', durationMs: 10, workspace },
  });

const base: WorkspaceResult = {
  repo: 'https://github.com/acme/app.git',
  baseRef: 'main',
  baseCommit: '0123456789abcdef0123456789abcdef01234567',
  branch: 'agentyard/t-1-1',
  commit: 'fedcba9876543210fedcba9876543210fedcba98',
  filesChanged: 3,
  insertions: 42,
  deletions: 7,
  pushed: true,
};

const text = (w: ReturnType<typeof mount>, id: string) => w.find(`[data-testid="${id}"]`).text();

describe('WorkspaceCard', () => {
  it('shows the base, branch, short commit, size of the change and the push of a finished task', () => {
    const w = mount(WorkspaceCard, { props: { task: finished(base, true) } });
    expect(text(w, 'workspace-repo')).toBe('https://github.com/acme/app.git');
    expect(text(w, 'workspace-base')).toBe('main 0123456789');
    expect(text(w, 'workspace-branch')).toBe('agentyard/t-1-1');
    expect(text(w, 'workspace-commit')).toBe('fedcba9876');
    expect(text(w, 'workspace-changes')).toBe('3 files +42 −7');
    expect(text(w, 'workspace-push')).toBe('pushed agentyard/t-1-1');
    expect(w.find('[data-testid="workspace-error"]').exists()).toBe(false);
  });

  it('says "no changes" when the task changed nothing, and shows why a push failed', () => {
    const w = mount(WorkspaceCard, {
      props: {
        task: finished({ ...base, commit: null, filesChanged: 0, insertions: 0, deletions: 0, pushed: false, error: 'push refused: permission denied' }, true),
      },
    });
    expect(text(w, 'workspace-commit')).toBe('no changes');
    expect(text(w, 'workspace-changes')).toBe('0 files +0 −0');
    expect(text(w, 'workspace-push')).toBe('failed');
    expect(text(w, 'workspace-error')).toBe('push refused: permission denied');
  });

  it('shows what a queued task asked for until it has run', () => {
    const w = mount(WorkspaceCard, { props: { task: task({ input: { command: 'make', workspace: { repo: '/srv/repos/app' } } }) } });
    expect(text(w, 'workspace-repo')).toBe('/srv/repos/app');
    expect(w.text()).toContain('HEAD');
    expect(text(w, 'workspace-push')).toBe('not asked');
    expect(w.find('[data-testid="workspace-branch"]').exists()).toBe(false);
  });

  it('renders nothing for a task without a repository', () => {
    const w = mount(WorkspaceCard, { props: { task: task() } });
    expect(w.find('[data-testid="workspace-card"]').exists()).toBe(false);
  });
});

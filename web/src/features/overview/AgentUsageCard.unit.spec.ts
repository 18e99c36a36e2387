import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { Task, UsageReport } from '@/api/client';
import { useLiveStore } from '@/stores/live.store';
import { useSessionStore } from '@/stores/session.store';
import { envelope, fakeServer, task, tokenPair, user } from '@/test/fake-server';
import AgentUsageCard from './AgentUsageCard.vue';

const router = createRouter({
  history: createMemoryHistory(),
  routes: [
    { path: '/tasks/:id', name: 'task', component: { template: '<div />' } },
    { path: '/:p(.*)*', component: { template: '<div />' } },
  ],
});

const usageReport: UsageReport = {
  from: '2026-10-03',
  to: '2026-11-01',
  days: [
    { day: '2026-11-01', tool: 'claude-code', tasks: 2, inputTokens: 12_000, outputTokens: 3_000, cachedInputTokens: 0, costUsd: 0.5, costUnknownTasks: 0 },
    { day: '2026-10-31', tool: 'ollama', tasks: 1, inputTokens: 500, outputTokens: 50, cachedInputTokens: 0, costUsd: 0, costUnknownTasks: 1 },
  ],
  total: { tasks: 3, inputTokens: 12_500, outputTokens: 3_050, cachedInputTokens: 0, costUsd: 0.5, costUnknownTasks: 1 },
};
const finished: Task[] = [
  task({
    id: 'agent',
    description: 'Fix the flaky test',
    tool: 'claude-code',
    status: 'succeeded',
    finishedAt: '2026-11-01T09:00:00.000Z',
    result: { exitCode: 0, outputTail: '', durationMs: 1, usage: { inputTokens: 12_000, outputTokens: 3_000, costUsd: 0.5 } },
  }),
  task({ id: 'shell', status: 'succeeded', finishedAt: '2026-11-01T09:30:00.000Z', result: { exitCode: 0, outputTail: '', durationMs: 1 } }),
];

async function show() {
  const server = fakeServer()
    .on('POST /api/v1/auth/login', () => tokenPair(1))
    .on('GET /api/v1/auth/me', () => user)
    .on('GET /api/v1/usage', () => usageReport)
    .on('GET /api/v1/tasks', () => ({ items: finished, nextCursor: null }))
    .install();
  const pinia = createPinia();
  setActivePinia(pinia);
  await useSessionStore().login('alice', 'pw');
  const wrapper = mount(AgentUsageCard, { props: { now: Date.parse('2026-11-01T10:00:00Z') }, global: { plugins: [pinia, router] } });
  await flushPromises();
  return { server, wrapper };
}

describe('AgentUsageCard', () => {
  beforeEach(() => {
    localStorage.clear();
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    vi.setSystemTime(new Date('2026-11-01T10:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('shows tokens and cost today, per day and per finished agent task', async () => {
    const { wrapper, server } = await show();
    expect(wrapper.find('[data-testid="usage-today"]').text()).toBe('12k in · 3.0k out · $0.5000 · 2 task(s)');
    const days = wrapper.findAll('[data-testid="usage-per-day"] tbody tr');
    expect(days).toHaveLength(14);
    expect(days[0]!.attributes('data-day')).toBe('2026-11-01');
    expect(days[0]!.findAll('td').map((c) => c.text())).toEqual(['2', '12k / 3.0k', '$0.5000']);
    expect(days[1]!.findAll('td').map((c) => c.text())).toEqual(['1', '500 / 50', '$0.0000*']);
    expect(days[2]!.findAll('td').map((c) => c.text())).toEqual(['0', '—', '—']);
    const tasks = wrapper.findAll('[data-testid="usage-per-task"] tbody tr');
    expect(tasks.map((r) => r.attributes('data-task-id'))).toEqual(['agent']);
    expect(tasks[0]!.text()).toContain('Fix the flaky test');
    expect(tasks[0]!.findAll('td').map((c) => c.text())).toEqual(['12k / 3.0k', '$0.5000']);
    const taskQuery = server.requests.find((r) => r.path === '/api/v1/tasks')!.search;
    expect(taskQuery).toContain('status=succeeded');
    expect(taskQuery).toContain('status=budget_exceeded');
  });

  it('fetches again shortly after a task ends', async () => {
    const { server } = await show();
    const usageCalls = () => server.requests.filter((r) => r.path === '/api/v1/usage').length;
    expect(usageCalls()).toBe(1);
    useLiveStore().dispatch({ type: 'event', event: envelope('TaskSucceeded', { taskId: 'agent' }, 9) });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(usageCalls()).toBe(2);
  });
});

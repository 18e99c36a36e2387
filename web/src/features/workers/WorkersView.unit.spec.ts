import { flushPromises, mount } from '@vue/test-utils';
import { NMessageProvider } from 'naive-ui';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import { useSessionStore } from '@/stores/session.store';
import { fakeServer, tokenPair, user, worker } from '@/test/fake-server';
import WorkersView from './WorkersView.vue';

const router = createRouter({
  history: createMemoryHistory(),
  routes: [
    { path: '/workers/:id', name: 'worker', component: { template: '<div />' } },
    { path: '/:p(.*)*', component: { template: '<div />' } },
  ],
});

async function show(workers: ReturnType<typeof worker>[]) {
  fakeServer()
    .on('POST /api/v1/auth/login', () => tokenPair(1))
    .on('GET /api/v1/auth/me', () => user)
    .on('GET /api/v1/workers', () => ({ items: workers }))
    .install();
  const pinia = createPinia();
  setActivePinia(pinia);
  await useSessionStore().login('alice', 'pw');
  const Host = defineComponent(() => () => h(NMessageProvider, null, () => h(WorkersView)));
  const wrapper = mount(Host, { global: { plugins: [pinia, router] }, attachTo: document.body });
  await flushPromises();
  return wrapper;
}

describe('WorkersView', () => {
  beforeEach(() => {
    localStorage.clear();
    document.body.innerHTML = '';
  });
  afterEach(() => (document.body.innerHTML = ''));

  it('tags a worker whose agent is older than the platform’s as outdated, with its version, and no other', async () => {
    const wrapper = await show([
      worker({ id: 'w-old', name: 'old-box', agentVersion: '0.0.9', agentOutdated: true }),
      worker({ id: 'w-new', name: 'new-box', agentVersion: '0.1.0', agentOutdated: false }),
    ]);
    const row = (id: string) => wrapper.find(`[data-worker-id="${id}"]`);
    expect(row('w-old').find('[data-testid="worker-outdated"]').text()).toBe('outdated agent 0.0.9');
    expect(row('w-new').find('[data-testid="worker-outdated"]').exists()).toBe(false);
    wrapper.unmount();
  });

  it('marks a worker with an unhealthy tool at a glance, naming the tool and the agent’s reason, and no healthy one', async () => {
    const wrapper = await show([
      worker({
        id: 'w-sick',
        name: 'sick-box',
        tools: [
          { name: 'shell', version: null, health: 'healthy' },
          { name: 'claude-api', version: 'api', health: 'unhealthy', detail: 'key refused (401)' },
        ],
      }),
      worker({ id: 'w-fine', name: 'fine-box', tools: [{ name: 'shell', version: null, health: 'healthy' }] }),
      worker({ id: 'w-off', name: 'off-box', status: 'offline', tools: [{ name: 'ollama', version: '0.5', health: 'unhealthy' }] }),
    ]);
    const row = (id: string) => wrapper.find(`[data-worker-id="${id}"]`);
    const flag = row('w-sick').find('[data-testid="worker-unhealthy"]');
    expect(flag.text()).toBe('claude-api unhealthy');
    expect(flag.attributes('title')).toBe('No task goes to: claude-api (key refused (401))');
    expect(row('w-sick').find('[data-tool="claude-api"]').attributes('data-health')).toBe('unhealthy');
    expect(row('w-sick').find('[data-tool="claude-api"]').text()).toBe('claude-api ✕');
    expect(row('w-sick').find('[data-tool="shell"]').attributes('data-health')).toBe('healthy');
    expect(row('w-fine').find('[data-testid="worker-unhealthy"]').exists()).toBe(false);
    // An offline worker gets no task anyway: its status says so, without a second flag.
    expect(row('w-off').find('[data-testid="worker-unhealthy"]').exists()).toBe(false);
    wrapper.unmount();
  });
});

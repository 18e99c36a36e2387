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
});

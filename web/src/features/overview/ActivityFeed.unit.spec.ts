import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { envelope, task } from '@/test/fake-server';
import ActivityFeed from './ActivityFeed.vue';

const router = createRouter({
  history: createMemoryHistory(),
  routes: ['/tasks/:id', '/workers/:id'].map((path, i) => ({ path, name: i === 0 ? 'task' : 'worker', component: { template: '<div />' } })),
});
const now = Date.parse('2026-11-01T10:10:00Z');

describe('ActivityFeed', () => {
  it('lists live events newest first, linking to the task', () => {
    const wrapper = mount(ActivityFeed, {
      global: { plugins: [router] },
      props: { now, events: [envelope('TaskSucceeded', { taskId: 'a' }, 5), envelope('TaskStarted', { taskId: 'a', workerId: 'w-123456789' }, 4)] },
    });
    const items = wrapper.findAll('li');
    expect(items.map((li) => li.find('.text').text())).toEqual(['Succeeded', 'Started on worker w-123456']);
    expect(items[0].find('a').attributes('href')).toBe('/tasks/a');
  });

  it('shows the latest tasks after a reload, when no event has arrived yet', () => {
    const wrapper = mount(ActivityFeed, {
      global: { plugins: [router] },
      props: { now, events: [], tasks: [task({ id: 'x', description: 'Build', status: 'failed', updatedAt: '2026-11-01T10:09:00Z' })] },
    });
    expect(wrapper.find('.text').text()).toBe('Build — failed');
    expect(wrapper.find('.mark').classes()).toContain('bad');
  });

  it('says that activity will appear when there is none', () => {
    expect(mount(ActivityFeed, { global: { plugins: [router] }, props: { now, events: [] } }).text()).toContain('Nothing yet');
  });
});

import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import AllocationPanel from './AllocationPanel.vue';

const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/workers/:id', name: 'worker', component: { template: '<div />' } }] });
const scores = (total: number) => ({ match: total, availability: total, balance: total, affinity: total, total });

describe('AllocationPanel', () => {
  it('names the winner and lists the candidates, best score first', () => {
    const wrapper = mount(AllocationPanel, {
      global: { plugins: [router] },
      props: {
        workerNames: { w1: 'alpha', w2: 'beta', w3: 'gamma' },
        decision: {
          taskId: 't',
          attempt: 1,
          workerId: 'w2',
          decidedAt: '2026-11-01T10:00:00Z',
          candidates: [
            { workerId: 'w1', eligible: true, rejectedBecause: [], scores: scores(0.5) },
            { workerId: 'w2', eligible: true, rejectedBecause: [], scores: scores(0.9) },
            { workerId: 'w3', eligible: false, rejectedBecause: ['offline', 'lacks tool shell'], scores: scores(0) },
          ],
          others: [],
        },
      },
    });
    expect(wrapper.find('[data-testid="allocation-winner"]').text()).toBe('beta');
    const rows = wrapper.findAll('tbody tr');
    expect(rows.map((r) => r.find('th').text())).toEqual(['beta', 'alpha', 'gamma']);
    expect(rows[0].text()).toContain('chosen');
    expect(rows[0].find('.total').text()).toBe('90');
    expect(rows[2].text()).toContain('offline, lacks tool shell');
  });

  it('counts the workers it does not list by reason, and those the owner cannot use as one number', () => {
    const wrapper = mount(AllocationPanel, {
      global: { plugins: [router] },
      props: {
        workerNames: { w1: 'alpha' },
        decision: {
          taskId: 't',
          attempt: 1,
          workerId: null,
          decidedAt: '2026-11-01T10:00:00Z',
          candidates: [{ workerId: 'w1', eligible: false, rejectedBecause: ['lacks tool claude-code'], scores: scores(0) }],
          others: [
            { reasons: ['offline'], count: 1995 },
            { reasons: ['lacks tool claude-code'], count: 3 },
            { reasons: ["not allowed for the task's owner"], count: 12 },
          ],
        },
      },
    });
    expect(wrapper.text()).toContain('2011 workers weighed');
    expect(wrapper.findAll('[data-testid="allocation-others"] li').map((li) => li.text())).toEqual([
      '1995 more workers: offline',
      '3 more workers: lacks tool claude-code',
      '12 more workers you cannot use',
    ]);
  });

  it('says when there is no decision yet', () => {
    const wrapper = mount(AllocationPanel, { global: { plugins: [router] }, props: { decision: null, workerNames: {} } });
    expect(wrapper.text()).toContain('No allocation decision yet');
  });
});

import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import { nodeState, run } from '@/test/workflow-fixtures';
import CandidatesComparison from './CandidatesComparison.vue';
import { comparisons } from './useRunStatus';

const mixture = (winner: string | null, status: 'waiting' | 'succeeded', strategy: 'manual' | 'shortest') =>
  run({
    kind: 'mixture',
    graph: {
      nodes: [
        { id: 'agent1', type: 'task', join: 'all', depth: 0 },
        { id: 'agent2', type: 'task', join: 'all', depth: 0 },
        { id: 'pick', type: 'select', join: 'done', depth: 0, select: { strategy } },
      ],
      edges: [
        { id: 'a', from: 'agent1', to: 'pick' },
        { id: 'b', from: 'agent2', to: 'pick' },
      ],
    },
    nodes: {
      agent1: nodeState({ status: 'succeeded', text: 'short', exitCode: 0 }),
      agent2: nodeState({ status: 'succeeded', text: 'a longer one', output: { score: 2 } }),
      pick: nodeState({ status, winner }),
    },
  });

describe('CandidatesComparison', () => {
  it('shows every candidate’s text and output side by side with the chosen one marked', () => {
    const [c] = comparisons(mixture('agent2', 'succeeded', 'shortest'));
    const w = mount(CandidatesComparison, { props: { comparison: c!, busy: false } });
    const cards = w.findAll('[data-testid="candidate"]');
    expect(cards.map((x) => x.attributes('data-candidate'))).toEqual(['agent1', 'agent2']);
    expect(cards[1]!.attributes('data-chosen')).toBe('true');
    expect(cards[1]!.classes()).toContain('chosen');
    expect(cards[0]!.find('[data-testid="chosen-badge"]').exists()).toBe(false);
    expect(cards[1]!.text()).toContain('"score": 2');
    expect(w.findAll('[data-testid="pick-winner"]')).toHaveLength(0);
  });

  it('offers a pick per candidate while a manual select waits, and emits the one picked', async () => {
    const [c] = comparisons(mixture(null, 'waiting', 'manual'));
    expect(c!.pickable).toBe(true);
    const w = mount(CandidatesComparison, { props: { comparison: c!, busy: false } });
    await w.findAll('[data-testid="pick-winner"]')[1]!.trigger('click');
    expect(w.emitted('pick')).toEqual([['agent2']]);
  });
});

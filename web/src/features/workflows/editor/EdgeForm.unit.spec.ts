import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSessionStore } from '@/stores/session.store';
import { useWorkflowEditorStore } from '@/stores/workflow-editor.store';
import { fakeServer, tokenPair, user } from '@/test/fake-server';
import EdgeForm from './EdgeForm.vue';

describe('EdgeForm', () => {
  beforeEach(async () => {
    setActivePinia(createPinia());
    fakeServer()
      .on('POST /api/v1/auth/login', () => tokenPair(1))
      .on('GET /api/v1/auth/me', () => user)
      .on('POST /api/v1/workflows/validate', () => ({ valid: true, errors: [], graph: null }))
      .install();
    await useSessionStore().login('alice', 'pw');
  });

  function setup() {
    const editor = useWorkflowEditorStore();
    editor.startNew();
    const a = editor.addNode('task', null);
    const b = editor.addNode('task', null);
    const key = editor.connect(a, b)!;
    const edge = () => editor.draft.edges.find((e) => e.key === key)!;
    const w = mount(EdgeForm, { props: { edge: edge() } });
    return { editor, edge, w };
  }

  it('marks a condition that does not parse at its character, as it is typed', async () => {
    const { edge, w } = setup();
    await w.find('input#edge-condition').setValue('nodes.task1.exitCode == ');
    await w.setProps({ edge: edge() });
    expect(edge().condition).toBe('nodes.task1.exitCode == ');
    expect(w.find('[data-testid="condition-error"]').text()).toMatch(/at character \d+/);
    const caret = w.find('[data-testid="condition-caret"]').text().split('\n');
    expect(caret[1]!.indexOf('^')).toBeGreaterThan(15);
    await w.find('input#edge-condition').setValue('nodes.task1.exitCode == 0');
    await w.setProps({ edge: edge() });
    expect(w.find('[data-testid="condition-error"]').exists()).toBe(false);
  });

  it('shows the server’s error for the edge next to its condition', async () => {
    const { editor, edge, w } = setup();
    editor.issues = [{ field: 'edges[0].condition', message: 'names node later, which does not run before this edge' }];
    await flushPromises();
    await w.setProps({ edge: edge() });
    expect(w.find('[data-testid="issue-list"]').text()).toContain('does not run before');
  });
});

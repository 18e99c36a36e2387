import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { nextTick } from 'vue';
import { task } from '@/test/fake-server';
import { useTaskStore } from '@/stores/tasks.store';
import AgentTranscript from './AgentTranscript.vue';
import { shortInput, transcriptItems } from './transcript';

const running = task({ id: 'a', tool: 'claude-code', status: 'running', attempt: 1 });

describe('AgentTranscript', () => {
  beforeEach(() => setActivePinia(createPinia()));

  describe('while the task runs', () => {
    it('shows messages, tool calls with a short input and their result, file edits and the final answer as they arrive', async () => {
      const tasks = useTaskStore();
      const wrapper = mount(AgentTranscript, { props: { task: running } });
      expect(wrapper.find('[data-testid="transcript-waiting"]').exists()).toBe(true);

      tasks.appendOutput({
        taskId: 'a',
        attempt: 1,
        seq: 0,
        data: '…',
        events: [
          { kind: 'session', sessionId: 's-1', model: 'claude-opus-4-8' },
          { kind: 'text', text: 'I will write the file.' },
          { kind: 'tool_call', name: 'Write', id: 'w', input: '{"file_path":"/w/hello.txt","content":"hi"}' },
          { kind: 'tool_call', name: 'Bash', id: 'b', input: '{"command":"npm test"}' },
        ],
      });
      await nextTick();
      expect(wrapper.find('[data-testid="transcript-live"]').exists()).toBe(true);
      const kinds = () => wrapper.findAll('li').map((li) => li.attributes('data-kind'));
      expect(kinds()).toEqual(['session', 'text', 'tool', 'tool']);
      expect(wrapper.findAll('li.tool')[0]!.text()).toContain('Write');
      expect(wrapper.findAll('li.tool')[0]!.text()).toContain('file_path: /w/hello.txt, content: hi');
      expect(wrapper.findAll('li.tool')[1]!.text()).toContain('npm test');
      expect(wrapper.find('[data-testid="tool-ok"]').exists()).toBe(false);

      tasks.appendOutput({
        taskId: 'a',
        attempt: 1,
        seq: 1,
        data: '…',
        events: [
          { kind: 'tool_result', id: 'w', isError: false },
          { kind: 'tool_result', id: 'b', isError: true },
          { kind: 'file_edit', path: '/w/hello.txt', change: 'add' },
          { kind: 'result', summary: 'Wrote hello.txt.', isError: false },
        ],
      });
      await nextTick();
      expect(kinds()).toEqual(['session', 'text', 'tool', 'tool', 'file_edit', 'result']);
      expect(wrapper.findAll('li.tool')[0]!.find('[data-testid="tool-ok"]').exists()).toBe(true);
      expect(wrapper.findAll('li.tool')[1]!.find('[data-testid="tool-error"]').exists()).toBe(true);
      expect(wrapper.find('li.file_edit').text()).toBe('added /w/hello.txt');
      expect(wrapper.find('li.result').text()).toContain('Wrote hello.txt.');
    });

    it('follows the newest row, and stays put once the reader scrolled up', async () => {
      const tasks = useTaskStore();
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 0, data: 'x', events: [{ kind: 'text', text: 'one' }] });
      const wrapper = mount(AgentTranscript, { props: { task: running }, attachTo: document.body });
      const list = wrapper.find('[data-testid="transcript-items"]').element as HTMLElement;
      // jsdom lays nothing out: give the list a height and content taller than it.
      let height = 1000;
      Object.defineProperty(list, 'clientHeight', { value: 200, configurable: true });
      Object.defineProperty(list, 'scrollHeight', { get: () => height, configurable: true });

      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 1, data: 'x', events: [{ kind: 'text', text: 'two' }] });
      await nextTick();
      await nextTick();
      expect(list.scrollTop).toBe(1000);

      list.scrollTop = 100;
      list.dispatchEvent(new Event('scroll'));
      height = 1200;
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 2, data: 'x', events: [{ kind: 'text', text: 'three' }] });
      await nextTick();
      await nextTick();
      expect(list.scrollTop).toBe(100);
      wrapper.unmount();
    });

    it("shows only the current attempt's transcript", async () => {
      const tasks = useTaskStore();
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 0, data: 'x', events: [{ kind: 'text', text: 'attempt one' }] });
      const wrapper = mount(AgentTranscript, { props: { task: { ...running, attempt: 2 } } });
      expect(wrapper.text()).not.toContain('attempt one');
      expect(wrapper.find('[data-testid="transcript-waiting"]').exists()).toBe(true);
    });
  });

  describe('after the task finished', () => {
    it('says no transcript is stored when this tab saw none, and shows the final summary', () => {
      const done = task({ id: 'a', tool: 'claude-code', status: 'succeeded', result: { exitCode: 0, outputTail: '', durationMs: 5, summary: 'All done.' } });
      const wrapper = mount(AgentTranscript, { props: { task: done } });
      expect(wrapper.find('[data-testid="transcript-none"]').text()).toContain('does not store');
      expect(wrapper.find('[data-testid="transcript-summary"]').text()).toContain('All done.');
      expect(wrapper.find('[data-testid="transcript-live"]').exists()).toBe(false);
    });

    it('keeps the transcript it saw and does not repeat the summary its final answer already shows', () => {
      const tasks = useTaskStore();
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 3, data: 'x', events: [{ kind: 'result', summary: 'All done.', isError: false }] });
      const done = task({ id: 'a', tool: 'claude-code', status: 'succeeded', result: { exitCode: 0, outputTail: '', durationMs: 5, summary: 'All done.' } });
      const wrapper = mount(AgentTranscript, { props: { task: done } });
      expect(wrapper.find('li.result').text()).toContain('All done.');
      expect(wrapper.find('[data-testid="transcript-summary"]').exists()).toBe(false);
      expect(wrapper.find('[data-testid="transcript-partial"]').exists()).toBe(true);
    });
  });
});

describe('transcriptItems', () => {
  it('lists a result whose call it never saw on its own', () => {
    expect(transcriptItems([{ kind: 'tool_result', id: 'gone', isError: true }])).toEqual([{ kind: 'tool_result', key: '0', ok: false }]);
  });
});

describe('shortInput', () => {
  it('shows a lone string field by itself, cuts long input, and shows input cut to 2 KiB as it is', () => {
    expect(shortInput('{"command":"ls -la\\n  /tmp"}')).toBe('ls -la /tmp');
    expect(shortInput(JSON.stringify({ pattern: 'x'.repeat(500) }))).toHaveLength(160);
    expect(shortInput('{"file_path":"a","content":"abc…')).toBe('{"file_path":"a","content":"abc…');
    expect(shortInput(undefined)).toBe('');
  });
});

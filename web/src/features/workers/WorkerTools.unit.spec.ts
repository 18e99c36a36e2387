import { mount } from '@vue/test-utils';
import { NTag } from 'naive-ui';
import { describe, expect, it } from 'vitest';
import type { Heartbeat, Worker } from '@/api/client';
import { worker } from '@/test/fake-server';
import WorkerTools from './WorkerTools.vue';

const heartbeat = (tools: Worker['tools']): Heartbeat => ({
  workerId: 'w-1',
  sentAt: '2026-11-01T10:00:00.000Z',
  cpuPercent: 5,
  memUsedMb: 100,
  memTotalMb: 1000,
  diskFreeMb: 100,
  diskTotalMb: 1000,
  slots: { total: 2, used: 0 },
  running: [],
  tools,
  draining: false,
});

const rows = (w: Worker) =>
  mount(WorkerTools, { props: { worker: w } })
    .findAll('tbody tr')
    .map((r) => r.findAll('th, td').map((c) => c.text()));

describe('WorkerTools', () => {
  const tools: Worker['tools'] = [
    { name: 'shell', version: null, health: 'healthy', auth: 'ok' },
    { name: 'claude-code', version: '2.1.3', health: 'healthy', auth: 'ok' },
    { name: 'ollama', version: '0.5.1', health: 'healthy', auth: 'ok' },
  ];

  it('lists each tool with its kind, version, health, credentials and whether the latest heartbeat still offers it', () => {
    expect(rows(worker({ tools, lastHeartbeat: heartbeat(tools.slice(0, 2)) }))).toEqual([
      ['Claude Code claude-code', 'agent CLI', '2.1.3', '—', 'healthy', 'accepted', 'reported'],
      ['Ollama ollama', 'local model', '0.5.1', '—', 'healthy', 'accepted', 'missing from the last heartbeat'],
      ['Shell shell', 'shell', '—', '—', 'healthy', 'accepted', 'reported'],
    ]);
  });

  it('says the worker is offline rather than reported when it is', () => {
    expect(rows(worker({ tools: tools.slice(0, 1), status: 'offline' }))[0]![6]).toBe('worker offline');
  });

  it('counts the models a chat tool’s vendor lists, naming them on hover, and shows a dash for a tool without a list', () => {
    const reported: Worker['tools'] = [
      { name: 'ollama', version: 'api', health: 'healthy', auth: 'ok', models: ['llama3:latest', 'qwen2.5-coder:7b'] },
      { name: 'openai-compatible', version: 'api', health: 'healthy', auth: 'ok', models: [] },
      { name: 'claude-code', version: '2.1.3', health: 'healthy', auth: 'ok' },
    ];
    const wrapper = mount(WorkerTools, { props: { worker: worker({ tools: reported }) } });
    const cell = (name: string) => wrapper.find(`[data-tool="${name}"] [data-testid="tool-models"]`);
    expect(cell('ollama').text()).toBe('2');
    expect(cell('ollama').attributes('title')).toBe('llama3:latest, qwen2.5-coder:7b');
    expect(cell('openai-compatible').text()).toBe('0');
    expect(cell('claude-code').text()).toBe('—');
    expect(cell('claude-code').attributes('title')).toBe('no model list reported');
  });

  it('shows an unhealthy tool with the agent’s reason and the credentials verdict, from the latest heartbeat', () => {
    const reported: Worker['tools'] = [
      { name: 'claude-api', version: 'api', health: 'healthy', auth: 'ok' },
      { name: 'gemini-cli', version: '0.61.0', health: 'unhealthy', auth: 'missing', detail: 'the Gemini API wants a key and none is set (401)' },
      { name: 'codex', version: '0.171.0', health: 'unhealthy', auth: 'unknown', detail: 'the OpenAI API is unreachable (ECONNREFUSED)' },
    ];
    // The heartbeat already says claude-api's key was refused; the registered list is a beat behind.
    const latest: Worker['tools'] = [
      { name: 'claude-api', version: 'api', health: 'unhealthy', auth: 'refused', detail: 'key refused by the Anthropic API (401)' },
      ...reported.slice(1),
    ];
    const wrapper = mount(WorkerTools, { props: { worker: worker({ tools: reported, lastHeartbeat: heartbeat(latest) }) } });
    const byTool = (name: string, cell: string) => wrapper.find(`[data-tool="${name}"] [data-testid="${cell}"]`).text();
    expect(wrapper.find('[data-tool="claude-api"] [data-testid="tool-health"] .n-tag').text()).toBe('unhealthy');
    expect(byTool('claude-api', 'tool-health-detail')).toBe('key refused by the Anthropic API (401)');
    expect(byTool('claude-api', 'tool-auth')).toBe('key refused');
    expect(byTool('gemini-cli', 'tool-auth')).toBe('no key');
    expect(byTool('codex', 'tool-health-detail')).toBe('the OpenAI API is unreachable (ECONNREFUSED)');
    expect(byTool('codex', 'tool-auth')).toBe('not checked');
    const tagType = (name: string, cell: string) => wrapper.find(`[data-tool="${name}"] [data-testid="${cell}"]`).findComponent(NTag).props('type');
    expect([tagType('claude-api', 'tool-health'), tagType('claude-api', 'tool-auth'), tagType('gemini-cli', 'tool-auth')]).toEqual([
      'error',
      'error',
      'warning',
    ]);
  });

  it('reads a tool from an agent older than health as healthy and not checked', () => {
    const legacy = [{ name: 'shell', version: null }] as Worker['tools'];
    expect(rows(worker({ tools: legacy, lastHeartbeat: heartbeat(legacy) }))).toEqual([
      ['Shell shell', 'shell', '—', '—', 'healthy', 'not checked', 'reported'],
    ]);
  });

  it('says when a worker reports no tools', () => {
    expect(mount(WorkerTools, { props: { worker: worker({ tools: [] }) } }).text()).toContain('reports no tools');
  });
});

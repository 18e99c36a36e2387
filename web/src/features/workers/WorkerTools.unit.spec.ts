import { mount } from '@vue/test-utils';
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
    { name: 'shell', version: null },
    { name: 'claude-code', version: '2.1.3' },
    { name: 'ollama', version: '0.5.1' },
  ];

  it('lists each tool with its kind, version and whether the latest heartbeat still offers it', () => {
    expect(rows(worker({ tools, lastHeartbeat: heartbeat(tools.slice(0, 2)) }))).toEqual([
      ['Claude Code claude-code', 'agent CLI', '2.1.3', 'ready'],
      ['Ollama ollama', 'local model', '0.5.1', 'missing from the last heartbeat'],
      ['Shell shell', 'shell', '—', 'ready'],
    ]);
  });

  it('says the worker is offline rather than ready when it is', () => {
    expect(rows(worker({ tools: tools.slice(0, 1), status: 'offline' }))[0][3]).toBe('worker offline');
  });

  it('shows a tool the worker reports as not signed in or unhealthy', () => {
    const reported = [
      { name: 'codex', version: '0.9.0', authenticated: false },
      { name: 'gemini-cli', version: '1.0.0', healthy: false },
      { name: 'claude-code', version: '2.1.3', authenticated: true },
    ] as unknown as Worker['tools'];
    expect(rows(worker({ tools: reported })).map((r) => [r[0], r[3]])).toEqual([
      ['Claude Code claude-code', 'ready, signed in'],
      ['Codex codex', 'not signed in'],
      ['Gemini CLI gemini-cli', 'unhealthy'],
    ]);
  });

  it('says when a worker reports no tools', () => {
    expect(mount(WorkerTools, { props: { worker: worker({ tools: [] }) } }).text()).toContain('reports no tools');
  });
});

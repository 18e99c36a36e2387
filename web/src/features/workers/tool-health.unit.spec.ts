import { describe, expect, it } from 'vitest';
import type { Heartbeat, Worker } from '@/api/client';
import { worker } from '@/test/fake-server';
import { toolHealth, unhealthyTools } from './tool-health';

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

describe('a worker’s tool health', () => {
  it('takes the latest heartbeat’s word over the registered list', () => {
    const w = worker({
      tools: [
        { name: 'shell', version: null, health: 'healthy' },
        { name: 'claude-api', version: 'api', health: 'healthy' },
      ],
      lastHeartbeat: heartbeat([
        { name: 'shell', version: null, health: 'healthy' },
        { name: 'claude-api', version: 'api', health: 'unhealthy', detail: 'key refused (401)' },
      ]),
    });
    expect(toolHealth(w).map((t) => [t.name, t.healthy, t.detail, t.inHeartbeat])).toEqual([
      ['shell', true, '', true],
      ['claude-api', false, 'key refused (401)', true],
    ]);
    expect(unhealthyTools(w).map((t) => t.name)).toEqual(['claude-api']);
  });

  it('falls back to the registered entry for a tool the heartbeat no longer lists, and reads a tool without health as healthy', () => {
    const w = worker({
      tools: [
        { name: 'shell', version: null },
        { name: 'ollama', version: '0.5', health: 'unhealthy', detail: 'connection refused' },
      ],
      lastHeartbeat: heartbeat([{ name: 'shell', version: null }]),
    });
    expect(toolHealth(w).map((t) => [t.name, t.healthy, t.inHeartbeat])).toEqual([
      ['shell', true, true],
      ['ollama', false, false],
    ]);
  });
});

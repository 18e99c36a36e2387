/*
 * A stand-in for the gateway in unit tests: a fetch that routes `METHOD /path` to handlers and
 * records every request (with its Authorization header and body), plus a scriptable WebSocket.
 * Tests install them with vi.stubGlobal; the code under test uses globalThis.fetch/WebSocket.
 */
import { vi } from 'vitest';
import type { Envelope, Task, Worker } from '@/api/client';

export interface Recorded {
  method: string;
  path: string;
  search: string;
  auth: string | null;
  body: unknown;
}

type Handler = (req: Recorded) => Response | Promise<Response> | unknown;

export const json = (status: number, body?: unknown): Response =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: body === undefined ? {} : { 'content-type': 'application/json' } });

export function fakeServer() {
  const routes = new Map<string, Handler>();
  const requests: Recorded[] = [];
  const fetch = vi.fn(async (input: Request) => {
    const url = new URL(input.url);
    const text = await input.text();
    const req: Recorded = {
      method: input.method,
      path: url.pathname,
      search: url.search,
      auth: input.headers.get('authorization'),
      body: text ? JSON.parse(text) : undefined,
    };
    requests.push(req);
    const handler = routes.get(`${req.method} ${req.path}`) ?? [...routes.entries()].find(([k]) => matches(k, `${req.method} ${req.path}`))?.[1];
    if (!handler) return json(404, { error: 'NOT_FOUND', message: `no fake for ${req.method} ${req.path}` });
    const out = await handler(req);
    return out instanceof Response ? out : json(200, out);
  });
  return {
    fetch,
    requests,
    on(route: string, handler: Handler) {
      routes.set(route, handler);
      return this;
    },
    install() {
      vi.stubGlobal('fetch', fetch);
      return this;
    },
  };
}

/** `GET /api/v1/tasks/:id` matches `GET /api/v1/tasks/abc`. */
function matches(pattern: string, actual: string): boolean {
  const p = pattern.split('/');
  const a = actual.split('/');
  return p.length === a.length && p.every((seg, i) => seg.startsWith(':') || seg === a[i]);
}

export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  readonly sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  closed = false;

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.({ code, reason });
  }
  // Test controls
  open(): void {
    this.onopen?.();
  }
  receive(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code: number, reason = ''): void {
    this.closed = true;
    this.onclose?.({ code, reason });
  }
  static latest(): FakeWebSocket {
    const ws = FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
    if (!ws) throw new Error('no WebSocket was opened');
    return ws;
  }
}

/** A JWT-shaped token pair (the client never decodes tokens; it trusts expiresIn). */
export const tokenPair = (n: number, expiresIn = 900) => ({
  accessToken: `access-${n}`,
  refreshToken: `refresh-${n}`,
  tokenType: 'Bearer' as const,
  expiresIn,
});

export const user = { id: 'u-1', username: 'alice', email: 'alice@example.com', createdAt: '2026-11-01T10:00:00.000Z' };

export function envelope(type: string, data: Record<string, unknown>, streamVersion: number, streamId = `task-${String(data.taskId)}`): Envelope {
  return {
    id: `00000000-0000-4000-8000-${String(streamVersion).padStart(12, '0')}`,
    type,
    version: 1,
    streamId,
    streamVersion,
    occurredAt: new Date(Date.UTC(2026, 10, 1, 10, 0, streamVersion)).toISOString(),
    data,
    metadata: { correlationId: 'c', causationId: 'c', userId: 'u-1' },
  };
}

export function task(overrides: Partial<Task> = {}): Task {
  return {
    id: 't-1',
    ownerId: 'u-1',
    description: 'echo hello',
    tool: 'shell',
    input: { command: 'echo hello' },
    priority: 50,
    status: 'queued',
    attempt: 1,
    maxAttempts: 3,
    timeoutSeconds: 60,
    requirements: {},
    workerId: null,
    progress: null,
    result: null,
    createdAt: '2026-11-01T10:00:00.000Z',
    updatedAt: '2026-11-01T10:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    version: 2,
    workflow: null,
    stalls: 0,
    stalledAt: null,
    ...overrides,
  };
}

export function worker(overrides: Partial<Worker> = {}): Worker {
  return {
    id: 'w-1',
    name: 'builder-1',
    hostname: 'builder-1.local',
    ownerId: 'u-1',
    role: 'owner',
    status: 'online',
    drained: false,
    credentialRevoked: false,
    tools: [{ name: 'shell', version: null }],
    labels: [],
    slots: 2,
    resources: { cpus: 4, memoryMb: 8192, diskMb: 100_000 },
    lastHeartbeat: null,
    lastSeenAt: '2026-11-01T10:00:00.000Z',
    registeredAt: '2026-11-01T09:00:00.000Z',
    agentVersion: '0.1.0',
    agentOutdated: false,
    ...overrides,
  };
}

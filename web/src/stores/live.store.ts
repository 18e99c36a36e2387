/*
 * The live connection: one WebSocket to /ws per tab. It authenticates with the first message,
 * then fans events and output chunks out to subscribers (the task and worker stores). It
 * reconnects with capped exponential backoff and jitter; a 4401 close means the token expired
 * or was revoked, so it refreshes first. Every `ready` (first or after a reconnect) calls the
 * resync handlers, which refetch what the page shows — events missed while disconnected are
 * not replayed by the gateway, so a refetch is what makes the view current again.
 * Tested in live.store.unit.spec.ts.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { LiveAgentEvent } from '@agentyard/contracts';
import type { Envelope } from '@/api/client';
import { useSessionStore } from './session.store';

export type { LiveAgentEvent };

export interface OutputChunk {
  taskId: string;
  attempt: number;
  seq: number;
  data: string;
  progress?: number;
  /** What an agent CLI did, parsed from the output that ended in this chunk (the live transcript). */
  events?: LiveAgentEvent[];
}

export type LiveStatus = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'stopped';

type ServerFrame = { type: 'ready' } | { type: 'event'; event: Envelope } | { type: 'output'; chunk: OutputChunk };

export const closeUnauthenticated = 4401;
const backoff = { initialMs: 500, maxMs: 30_000 };
const recentMax = 100;

/** Delay before reconnect attempt `n` (0-based): doubling from 0.5 s, capped at 30 s, ±20 % jitter. */
export function reconnectDelay(n: number, random = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** n);
  return Math.round(base * (0.8 + random() * 0.4));
}

export function liveUrl(loc: Pick<Location, 'protocol' | 'host'> = globalThis.location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

export const useLiveStore = defineStore('live', () => {
  const status = ref<LiveStatus>('idle');
  const attempts = ref(0);
  const lastError = ref<string | null>(null);
  /** Newest first; the overview's activity feed. */
  const recent = shallowRef<Envelope[]>([]);
  const connected = computed(() => status.value === 'live');

  const eventHandlers = new Set<(e: Envelope) => void>();
  const outputHandlers = new Set<(c: OutputChunk) => void>();
  const resyncHandlers = new Set<() => void>();
  let socket: WebSocket | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let wanted = false;

  function onEvent(fn: (e: Envelope) => void): () => void {
    eventHandlers.add(fn);
    return () => eventHandlers.delete(fn);
  }
  function onOutput(fn: (c: OutputChunk) => void): () => void {
    outputHandlers.add(fn);
    return () => outputHandlers.delete(fn);
  }
  function onResync(fn: () => void): () => void {
    resyncHandlers.add(fn);
    return () => resyncHandlers.delete(fn);
  }

  function dispatch(frame: ServerFrame): void {
    if (frame.type === 'ready') {
      status.value = 'live';
      attempts.value = 0;
      lastError.value = null;
      for (const fn of resyncHandlers) fn();
    } else if (frame.type === 'event') {
      recent.value = [frame.event, ...recent.value].slice(0, recentMax);
      for (const fn of eventHandlers) fn(frame.event);
    } else if (frame.type === 'output') {
      for (const fn of outputHandlers) fn(frame.chunk);
    }
  }

  function scheduleReconnect(immediate = false): void {
    if (!wanted) return;
    clearTimeout(retryTimer);
    status.value = 'reconnecting';
    const delay = immediate ? 0 : reconnectDelay(attempts.value);
    attempts.value += 1;
    retryTimer = setTimeout(() => void open(), delay);
  }

  async function open(): Promise<void> {
    if (!wanted) return;
    const session = useSessionStore();
    let token: string | null;
    try {
      token = await session.freshAccessToken();
    } catch {
      scheduleReconnect();
      return;
    }
    if (!token || !wanted) {
      stop();
      return;
    }
    if (status.value !== 'reconnecting') status.value = 'connecting';
    const ws = new globalThis.WebSocket(liveUrl());
    socket = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token }));
    ws.onmessage = (msg: MessageEvent) => {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(msg.data)) as ServerFrame;
      } catch {
        return;
      }
      dispatch(frame);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (socket !== ws) return;
      socket = null;
      if (!wanted) return;
      if (ev.code === closeUnauthenticated) {
        lastError.value = ev.reason || 'token expired';
        // Expired or revoked token: refresh, then reconnect at once; a dead session stops here.
        session.refresh().then(
          (ok) => (ok ? scheduleReconnect(attempts.value === 0) : stop()),
          () => scheduleReconnect(),
        );
        return;
      }
      lastError.value = ev.reason || `closed (${ev.code})`;
      scheduleReconnect();
    };
  }

  /** Connects (idempotent) and keeps reconnecting until stop(). */
  function start(): void {
    if (wanted) return;
    wanted = true;
    attempts.value = 0;
    globalThis.addEventListener?.('online', reconnectNow);
    void open();
  }

  /** A network came back: skip the rest of the backoff. */
  function reconnectNow(): void {
    if (wanted && !socket) scheduleReconnect(true);
  }

  function stop(): void {
    wanted = false;
    clearTimeout(retryTimer);
    globalThis.removeEventListener?.('online', reconnectNow);
    const ws = socket;
    socket = null;
    ws?.close(1000, 'bye');
    status.value = 'stopped';
    recent.value = [];
  }

  return { status, attempts, lastError, recent, connected, start, stop, onEvent, onOutput, onResync, reconnectNow, dispatch };
});

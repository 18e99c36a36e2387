/*
 * Workers the user has a role on, with a short history of heartbeat figures per worker for the
 * sparklines. Heartbeats are not pushed to browsers, so while a workers or overview page is open
 * the list is polled (every 5 s by default; pages ask with startPolling and release on unmount);
 * worker events trigger an immediate refetch. Tested in workers.store.unit.spec.ts.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { unwrap, type Heartbeat, type Items, type RegistrationToken, type Schemas, type ToolName, type Worker } from '@/api/client';
import { useLiveStore } from './live.store';
import { useSessionStore } from './session.store';

export interface HeartbeatSample {
  /** Epoch ms of the heartbeat. */
  at: number;
  cpu: number;
  memPercent: number;
  diskPercent: number;
  running: number;
}

export const sampleLimit = 60;
const pollMs = 5_000;

export function sampleOf(hb: Heartbeat): HeartbeatSample {
  const pct = (used: number, total: number) => (total > 0 ? Math.round((used / total) * 1000) / 10 : 0);
  return {
    at: Date.parse(hb.sentAt),
    cpu: Math.round(hb.cpuPercent * 10) / 10,
    memPercent: pct(hb.memUsedMb, hb.memTotalMb),
    diskPercent: pct(hb.diskTotalMb - hb.diskFreeMb, hb.diskTotalMb),
    running: hb.running.length,
  };
}

export const useWorkerStore = defineStore('workers', () => {
  const session = useSessionStore();
  const live = useLiveStore();

  const items = ref<Worker[]>([]);
  const loaded = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const samples = shallowRef<Record<string, HeartbeatSample[]>>({});

  let pollers = 0;
  let pollTimer: ReturnType<typeof setInterval> | undefined;
  let refetchTimer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> | null = null;

  const online = computed(() => items.value.filter((w) => w.status === 'online'));
  /** Tools that an online, undrained worker offers: what a new task can use right now. */
  const onlineTools = computed<ToolName[]>(() => {
    const set = new Set<ToolName>();
    for (const w of items.value) if (w.status === 'online' && !w.drained) for (const t of w.tools) set.add(t.name);
    return [...set].sort();
  });
  const byId = computed(() => Object.fromEntries(items.value.map((w) => [w.id, w])) as Record<string, Worker>);

  function record(workers: Worker[]): void {
    const next = { ...samples.value };
    for (const w of workers) {
      if (!w.lastHeartbeat) continue;
      const sample = sampleOf(w.lastHeartbeat);
      const list = next[w.id] ?? [];
      if (list.length > 0 && list[list.length - 1].at >= sample.at) continue;
      next[w.id] = [...list, sample].slice(-sampleLimit);
    }
    samples.value = next;
  }

  function merge(worker: Worker): void {
    const i = items.value.findIndex((w) => w.id === worker.id);
    if (i >= 0) items.value.splice(i, 1, worker);
    else items.value.push(worker);
    record([worker]);
  }

  function fetch(): Promise<void> {
    inFlight ??= (async () => {
      loading.value = true;
      try {
        const body = await unwrap(session.api.GET('/api/v1/workers'));
        const list = (body as unknown as Items<Worker>).items;
        items.value = list;
        record(list);
        error.value = null;
        loaded.value = true;
      } catch (e) {
        error.value = e instanceof Error ? e.message : String(e);
      } finally {
        loading.value = false;
        inFlight = null;
      }
    })();
    return inFlight;
  }

  async function fetchOne(id: string): Promise<Worker> {
    const worker = await unwrap(session.api.GET('/api/v1/workers/{id}', { params: { path: { id } } }));
    merge(worker);
    return worker;
  }

  /** One of the owner's actions on a worker; the store keeps the worker it gets back. */
  async function act(
    path: '/api/v1/workers/{id}/drain' | '/api/v1/workers/{id}/resume' | '/api/v1/workers/{id}/revoke-credential',
    id: string,
  ): Promise<Worker> {
    const worker = await unwrap(session.api.POST(path, { params: { path: { id } } }));
    merge(worker);
    return worker;
  }

  const drain = (id: string) => act('/api/v1/workers/{id}/drain', id);
  const resume = (id: string) => act('/api/v1/workers/{id}/resume', id);
  /** Revokes the worker's credential: the platform refuses its agent from now on. */
  const revokeCredential = (id: string) => act('/api/v1/workers/{id}/revoke-credential', id);

  async function createRegistrationToken(body: Schemas['CreateRegistrationTokenBody']): Promise<RegistrationToken> {
    return unwrap(session.api.POST('/api/v1/workers/registration-tokens', { body }));
  }

  /** Polls while at least one caller holds the returned release function. */
  function startPolling(): () => void {
    pollers += 1;
    if (pollers === 1) {
      void fetch();
      pollTimer = setInterval(() => void fetch(), pollMs);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      pollers -= 1;
      if (pollers === 0) clearInterval(pollTimer);
    };
  }

  function scheduleRefetch(): void {
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(() => void fetch(), 200);
  }

  function reset(): void {
    items.value = [];
    samples.value = {};
    loaded.value = false;
  }

  live.onEvent((e) => {
    if (e.streamId.startsWith('worker-')) scheduleRefetch();
  });
  live.onResync(() => {
    if (loaded.value) scheduleRefetch();
  });

  return {
    items,
    loaded,
    loading,
    error,
    samples,
    online,
    onlineTools,
    byId,
    fetch,
    fetchOne,
    drain,
    resume,
    revokeCredential,
    createRegistrationToken,
    startPolling,
    reset,
    merge,
  };
});

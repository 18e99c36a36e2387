/*
 * Workflow runs being looked at, kept live. A run's events (stream `run-<id>`) arrive on the
 * WebSocket; each one schedules a refetch of GET /runs/{id}, debounced (a burst of events — a
 * fan-in of results, a plan expansion — costs one request). We refetch rather than fold the events
 * here because the run view is the service's decider state folded (joins, dead-path elimination,
 * loop resets, plan expansion with redirected edges): folding again in the browser would be a
 * second copy of the deterministic core that could drift from it. A response older than the run
 * already shown (its `version`, the stream version) never replaces it, so out-of-order answers
 * cannot move a node back. Tested in runs.store.unit.spec.ts.
 */
import { defineStore } from 'pinia';
import { shallowRef } from 'vue';
import { unwrap, type Envelope, type Run } from '@/api/client';
import { useLiveStore } from './live.store';
import { useSessionStore } from './session.store';

export const runRefreshDelayMs = 150;

export const useRunStore = defineStore('runs', () => {
  const session = useSessionStore();
  const live = useLiveStore();

  const byId = shallowRef<Record<string, Run>>({});
  /** Run ids a page is showing, with how many pages show each. */
  const watched = new Map<string, number>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();

  function upsert(run: Run): Run {
    const current = byId.value[run.id];
    if (current && current.version > run.version) return current;
    byId.value = { ...byId.value, [run.id]: run };
    return run;
  }

  async function fetchRun(id: string): Promise<Run> {
    return upsert(await unwrap(session.api.GET('/api/v1/runs/{id}', { params: { path: { id } } })));
  }

  function scheduleRefetch(id: string): void {
    clearTimeout(timers.get(id));
    timers.set(
      id,
      setTimeout(() => {
        timers.delete(id);
        // A failed refetch leaves the run as shown; the next event or reconnect tries again.
        if (watched.has(id)) fetchRun(id).catch(() => undefined);
      }, runRefreshDelayMs),
    );
  }

  /** Keeps one run current while a page shows it; call the returned function on leave. */
  function watchRun(id: string): () => void {
    watched.set(id, (watched.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (watched.get(id) ?? 1) - 1;
      if (n > 0) watched.set(id, n);
      else {
        watched.delete(id);
        clearTimeout(timers.get(id));
        timers.delete(id);
      }
    };
  }

  function applyEvent(event: Envelope): void {
    if (!event.streamId.startsWith('run-')) return;
    const id = event.streamId.slice('run-'.length);
    if (watched.has(id)) scheduleRefetch(id);
  }

  const path = (id: string) => ({ params: { path: { id } } });
  const nodePath = (id: string, nodeId: string) => ({ params: { path: { id, nodeId } } });

  async function pause(id: string): Promise<Run> {
    return upsert(await unwrap(session.api.POST('/api/v1/runs/{id}/pause', path(id))));
  }
  async function resume(id: string): Promise<Run> {
    return upsert(await unwrap(session.api.POST('/api/v1/runs/{id}/resume', path(id))));
  }
  async function cancel(id: string): Promise<Run> {
    return upsert(await unwrap(session.api.POST('/api/v1/runs/{id}/cancel', path(id))));
  }
  async function retryNode(id: string, nodeId: string): Promise<Run> {
    return upsert(await unwrap(session.api.POST('/api/v1/runs/{id}/nodes/{nodeId}/retry', nodePath(id, nodeId))));
  }
  async function decideApproval(id: string, nodeId: string, decision: 'approve' | 'reject', comment?: string): Promise<Run> {
    const body = { decision, ...(comment ? { comment } : {}) };
    return upsert(await unwrap(session.api.POST('/api/v1/runs/{id}/nodes/{nodeId}/approval', { ...nodePath(id, nodeId), body })));
  }
  async function pickWinner(id: string, nodeId: string, winner: string): Promise<Run> {
    return upsert(await unwrap(session.api.POST('/api/v1/runs/{id}/nodes/{nodeId}/winner', { ...nodePath(id, nodeId), body: { winner } })));
  }

  function resync(): void {
    for (const id of watched.keys()) scheduleRefetch(id);
  }

  function reset(): void {
    byId.value = {};
  }

  live.onEvent(applyEvent);
  live.onResync(resync);

  return { byId, fetchRun, watchRun, applyEvent, pause, resume, cancel, retryNode, decideApproval, pickWinner, reset };
});

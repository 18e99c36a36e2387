/*
 * Tasks the user is looking at: rows by id, the current list (ids in server order), and live
 * output buffered per task so a detail page opened a moment after the task started still shows
 * everything since this tab connected, with the agent events of an agent CLI's transcript that
 * came in the same chunks (kept in chunk order; not stored by the platform). Live events patch rows at once (task-events.ts); a
 * debounced refetch then makes filtered lists exact. Tested in tasks.store.unit.spec.ts.
 */
import { defineStore } from 'pinia';
import { ref, shallowRef, triggerRef } from 'vue';
import { ApiError, unwrap, type AllocationDecision, type CreateTaskBody, type Envelope, type Items, type ListTasksQuery, type Task } from '@/api/client';
import { applyTaskEvent, taskFromCreated, taskIdOf } from '@/api/task-events';
import { useLiveStore, type LiveAgentEvent, type OutputChunk } from './live.store';
import { useSessionStore } from './session.store';

/** Output kept per task in the browser; older text is dropped from the front. */
const outputCapChars = 512 * 1024;
const listRefreshDelayMs = 400;
/** Agent events kept per task; older ones are dropped from the front. */
const transcriptCap = 2_000;

export interface TaskOutput {
  attempt: number;
  /** Next seq expected; chunks ahead of it wait in `pending`. */
  nextSeq: number;
  text: string;
  pending: Map<number, OutputChunk>;
  /** True when the buffer holds the attempt from its first chunk (nothing dropped or missed). */
  complete: boolean;
}

/** An agent CLI's live transcript of one attempt, as this tab received it. */
export interface TaskTranscript {
  attempt: number;
  events: LiveAgentEvent[];
  /** True when it holds the attempt from its first chunk (nothing dropped or missed). */
  complete: boolean;
}

export const useTaskStore = defineStore('tasks', () => {
  const session = useSessionStore();
  const live = useLiveStore();

  const byId = shallowRef<Record<string, Task>>({});
  const listIds = ref<string[]>([]);
  const nextCursor = ref<string | null>(null);
  const listLoading = ref(false);
  const listError = ref<string | null>(null);
  const listQuery = shallowRef<ListTasksQuery | null>(null);
  /** Latest progress from output chunks (events carry none), by task id. */
  const liveProgress = ref<Record<string, number>>({});
  /** Live transcripts by task id (only tasks whose tool sent agent events). */
  const transcripts = shallowRef<Record<string, TaskTranscript>>({});

  const outputs = new Map<string, TaskOutput>();
  const outputListeners = new Map<string, Set<(text: string, reset: boolean) => void>>();
  const eventListeners = new Set<(e: Envelope) => void>();
  let listTimer: ReturnType<typeof setTimeout> | undefined;
  let listGeneration = 0;

  function upsert(task: Task): Task {
    const current = byId.value[task.id];
    if (current && current.version > task.version) return current;
    byId.value = { ...byId.value, [task.id]: task };
    return task;
  }

  /** Keeps rows fetched elsewhere (overview, worker detail) so live events update them too. */
  function remember(list: Task[]): void {
    list.forEach(upsert);
  }

  function remove(id: string): void {
    const { [id]: _gone, ...rest } = byId.value;
    byId.value = rest;
    listIds.value = listIds.value.filter((x) => x !== id);
  }

  async function fetchList(query: ListTasksQuery): Promise<void> {
    const generation = ++listGeneration;
    listQuery.value = query;
    listLoading.value = true;
    try {
      const page = await unwrap(session.api.GET('/api/v1/tasks', { params: { query } }));
      if (generation !== listGeneration) return; // a newer query won
      page.items.forEach(upsert);
      listIds.value = page.items.map((t) => t.id);
      nextCursor.value = page.nextCursor;
      listError.value = null;
    } catch (e) {
      if (generation === listGeneration) listError.value = e instanceof Error ? e.message : String(e);
    } finally {
      if (generation === listGeneration) listLoading.value = false;
    }
  }

  async function loadMore(): Promise<void> {
    if (!nextCursor.value || !listQuery.value || listLoading.value) return;
    const generation = listGeneration;
    listLoading.value = true;
    try {
      const page = await unwrap(session.api.GET('/api/v1/tasks', { params: { query: { ...listQuery.value, cursor: nextCursor.value } } }));
      if (generation !== listGeneration) return;
      page.items.forEach(upsert);
      const seen = new Set(listIds.value);
      listIds.value = [...listIds.value, ...page.items.map((t) => t.id).filter((id) => !seen.has(id))];
      nextCursor.value = page.nextCursor;
    } catch (e) {
      listError.value = e instanceof Error ? e.message : String(e);
    } finally {
      if (generation === listGeneration) listLoading.value = false;
    }
  }

  /** Refetches the list as it stands (as many rows as are loaded, up to the API's 200). */
  function scheduleListRefresh(): void {
    if (!listQuery.value) return;
    clearTimeout(listTimer);
    listTimer = setTimeout(() => {
      const q = listQuery.value;
      if (q) void fetchList({ ...q, limit: Math.min(200, Math.max(q.limit ?? 50, listIds.value.length)) });
    }, listRefreshDelayMs);
  }

  function stopList(): void {
    listQuery.value = null;
    clearTimeout(listTimer);
  }

  async function fetchTask(id: string): Promise<Task> {
    return upsert(await unwrap(session.api.GET('/api/v1/tasks/{id}', { params: { path: { id } } })));
  }

  async function create(body: CreateTaskBody): Promise<Task> {
    const task = upsert(await unwrap(session.api.POST('/api/v1/tasks', { body })));
    scheduleListRefresh();
    return task;
  }

  async function cancel(id: string): Promise<Task> {
    return upsert(await unwrap(session.api.POST('/api/v1/tasks/{id}/cancel', { params: { path: { id } } })));
  }

  async function retry(id: string): Promise<Task> {
    const task = upsert(await unwrap(session.api.POST('/api/v1/tasks/{id}/retry', { params: { path: { id } } })));
    outputs.delete(id);
    return task;
  }

  async function deleteTask(id: string): Promise<void> {
    await unwrap(session.api.DELETE('/api/v1/tasks/{id}', { params: { path: { id } } }));
    remove(id);
  }

  async function history(id: string): Promise<Envelope[]> {
    const body = await unwrap(session.api.GET('/api/v1/tasks/{id}/events', { params: { path: { id } } }));
    return (body as unknown as Items<Envelope>).items;
  }

  /** The latest allocation decision, or null while there is none. */
  async function allocation(id: string): Promise<AllocationDecision | null> {
    try {
      return await unwrap(session.api.GET('/api/v1/tasks/{id}/allocation', { params: { path: { id } } }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }

  function applyEvent(event: Envelope): void {
    const id = taskIdOf(event);
    if (!id) return;
    if (event.type === 'TaskDeleted') remove(id);
    else if (event.type === 'TaskCreated') {
      const row = taskFromCreated(event);
      if (row && !byId.value[id]) upsert(row);
    } else {
      const current = byId.value[id];
      if (current) {
        const next = applyTaskEvent(current, event);
        if (next !== current) upsert(next);
      }
    }
    if (event.streamId.startsWith('task-')) scheduleListRefresh();
    for (const fn of eventListeners) fn(event);
  }

  /** Calls `fn` with every live task/allocation event; for detail pages that refetch history. */
  function onTaskEvent(fn: (e: Envelope) => void): () => void {
    eventListeners.add(fn);
    return () => eventListeners.delete(fn);
  }

  function appendOutput(chunk: OutputChunk): void {
    let out = outputs.get(chunk.taskId);
    let reset = false;
    if (!out || chunk.attempt > out.attempt) {
      reset = out !== undefined;
      out = { attempt: chunk.attempt, nextSeq: chunk.seq, text: '', pending: new Map(), complete: chunk.seq === 0 };
      outputs.set(chunk.taskId, out);
    }
    if (chunk.attempt < out.attempt || chunk.seq < out.nextSeq) return; // stale attempt or duplicate
    out.pending.set(chunk.seq, chunk);
    let added = '';
    const events: LiveAgentEvent[] = [];
    for (let next = out.pending.get(out.nextSeq); next; next = out.pending.get(out.nextSeq)) {
      added += next.data;
      if (next.events) events.push(...next.events);
      out.pending.delete(out.nextSeq);
      out.nextSeq += 1;
    }
    if (events.length > 0 || (reset && transcripts.value[chunk.taskId])) addTranscript(chunk.taskId, out, events);
    if (chunk.progress !== undefined) liveProgress.value = { ...liveProgress.value, [chunk.taskId]: chunk.progress };
    if (!added && !reset) return;
    out.text += added;
    if (out.text.length > outputCapChars) {
      out.text = out.text.slice(out.text.length - outputCapChars);
      out.complete = false;
    }
    for (const fn of outputListeners.get(chunk.taskId) ?? []) fn(reset ? out.text : added, reset);
  }

  function addTranscript(taskId: string, out: TaskOutput, events: LiveAgentEvent[]): void {
    const current = transcripts.value[taskId];
    const same = current && current.attempt === out.attempt;
    let all = same ? [...current.events, ...events] : events;
    let complete = same ? current.complete : out.complete;
    if (all.length > transcriptCap) {
      all = all.slice(all.length - transcriptCap);
      complete = false;
    }
    transcripts.value = { ...transcripts.value, [taskId]: { attempt: out.attempt, events: all, complete } };
  }

  /** The live transcript of a task's agent CLI, or null when no agent event arrived here. */
  function transcriptOf(id: string): TaskTranscript | null {
    return transcripts.value[id] ?? null;
  }

  /** The output buffered for a task (possibly partial), or null when none arrived here. */
  function outputOf(id: string): TaskOutput | null {
    return outputs.get(id) ?? null;
  }

  /** Streams new output of one task: `fn(text, reset)`; reset means "start over with text" (a new attempt). */
  function watchOutput(id: string, fn: (text: string, reset: boolean) => void): () => void {
    const set = outputListeners.get(id) ?? new Set();
    set.add(fn);
    outputListeners.set(id, set);
    return () => set.delete(fn);
  }

  function resync(): void {
    scheduleListRefresh();
  }

  function reset(): void {
    byId.value = {};
    listIds.value = [];
    nextCursor.value = null;
    listQuery.value = null;
    outputs.clear();
    liveProgress.value = {};
    transcripts.value = {};
    triggerRef(byId);
  }

  live.onEvent(applyEvent);
  live.onOutput(appendOutput);
  live.onResync(resync);

  return {
    byId,
    listIds,
    nextCursor,
    listLoading,
    listError,
    listQuery,
    liveProgress,
    transcripts,
    fetchList,
    loadMore,
    stopList,
    scheduleListRefresh,
    fetchTask,
    remember,
    create,
    cancel,
    retry,
    deleteTask,
    history,
    allocation,
    applyEvent,
    appendOutput,
    onTaskEvent,
    outputOf,
    transcriptOf,
    watchOutput,
    reset,
  };
});

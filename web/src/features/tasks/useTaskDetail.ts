/*
 * Everything the task page shows, kept current: the task row (patched by live events in the
 * store), its event history, allocation decision and (when asked) stored artifacts, refetched,
 * debounced, when an event about this task arrives, and a full refetch after every reconnect.
 */
import { computed, onBeforeUnmount, ref, shallowRef, watch, type Ref } from 'vue';
import { ApiError, type AllocationDecision, type Envelope } from '@/api/client';
import { listTaskArtifacts, type TaskArtifact } from '@/api/task-artifacts';
import { taskIdOf } from '@/api/task-events';
import { useLiveStore } from '@/stores/live.store';
import { useSessionStore } from '@/stores/session.store';
import { useTaskStore } from '@/stores/tasks.store';

/** `artifacts`: also list the task's stored artifacts (the task page; a workflow node's panel does not need them). */
export function useTaskDetail(id: Ref<string>, options: { artifacts?: boolean } = {}) {
  const tasks = useTaskStore();
  const live = useLiveStore();
  const session = useSessionStore();
  const task = computed(() => tasks.byId[id.value] ?? null);
  const history = shallowRef<Envelope[]>([]);
  const allocation = shallowRef<AllocationDecision | null>(null);
  /** Stored artifacts, every attempt's; empty until the agent stores some. */
  const artifacts = shallowRef<TaskArtifact[]>([]);
  const notFound = ref(false);
  const error = ref<string | null>(null);
  const progress = computed(() => tasks.liveProgress[id.value] ?? task.value?.progress ?? null);
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function loadTask(): Promise<void> {
    try {
      await tasks.fetchTask(id.value);
      notFound.value = false;
      error.value = null;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 400)) notFound.value = true;
      else error.value = e instanceof Error ? e.message : String(e);
    }
  }

  async function loadArtifacts(): Promise<TaskArtifact[] | null> {
    if (!options.artifacts) return null;
    try {
      return await listTaskArtifacts(session.api, id.value);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return [];
      throw e;
    }
  }

  async function loadExtras(): Promise<void> {
    const [h, a, s] = await Promise.allSettled([tasks.history(id.value), tasks.allocation(id.value), loadArtifacts()]);
    if (h.status === 'fulfilled') history.value = h.value;
    if (a.status === 'fulfilled') allocation.value = a.value;
    if (s.status === 'fulfilled' && s.value) artifacts.value = s.value;
  }

  function loadAll(): void {
    void loadTask().then(loadExtras);
  }

  const off = tasks.onTaskEvent((e) => {
    if (taskIdOf(e) !== id.value) return;
    clearTimeout(timer);
    timer = setTimeout(() => void loadExtras(), 250);
  });
  const offResync = live.onResync(loadAll);
  watch(
    id,
    () => {
      artifacts.value = [];
      loadAll();
    },
    { immediate: true },
  );
  onBeforeUnmount(() => {
    off();
    offResync();
    clearTimeout(timer);
  });

  return { task, history, allocation, artifacts, progress, notFound, error, reload: loadAll };
}

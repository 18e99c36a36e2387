/*
 * Counts of the user's tasks by status. The API has no count endpoint, so each status is one
 * list request capped at 200 ("200+" beyond); a task event refetches them (debounced), which
 * keeps the cards live without counting events client-side (events can be missed while
 * reconnecting; a refetch cannot drift).
 */
import { onBeforeUnmount, ref } from 'vue';
import { unwrap, type TaskStatus } from '@/api/client';
import { taskStatuses } from '@/api/task-events';
import { useLiveStore } from '@/stores/live.store';
import { useSessionStore } from '@/stores/session.store';
import { useTaskStore } from '@/stores/tasks.store';

export const countCap = 200;

export function useStatusCounts(debounceMs = 600) {
  const session = useSessionStore();
  const tasks = useTaskStore();
  const live = useLiveStore();
  const counts = ref<Record<TaskStatus, number> | null>(null);
  const capped = ref<Partial<Record<TaskStatus, boolean>>>({});
  const error = ref<string | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function refresh(): Promise<void> {
    try {
      const pages = await Promise.all(
        taskStatuses.map((status) => unwrap(session.api.GET('/api/v1/tasks', { params: { query: { status: [status], limit: countCap } } }))),
      );
      counts.value = Object.fromEntries(taskStatuses.map((s, i) => [s, pages[i].items.length])) as Record<TaskStatus, number>;
      capped.value = Object.fromEntries(taskStatuses.map((s, i) => [s, pages[i].nextCursor !== null]));
      error.value = null;
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  function schedule(): void {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), debounceMs);
  }

  const offEvent = tasks.onTaskEvent((e) => {
    if (e.streamId.startsWith('task-')) schedule();
  });
  const offResync = live.onResync(schedule);
  void refresh();
  onBeforeUnmount(() => {
    clearTimeout(timer);
    offEvent();
    offResync();
  });

  return { counts, capped, error, refresh };
}

/*
 * The overview's agent usage: `GET /usage` (per UTC day and tool, the last 30 days) and the latest
 * finished tasks, of which those whose tool reported usage are listed per task. Refetched shortly
 * after a task ends (the tasks service records usage with the end event, so a short delay lets it
 * land) and after every reconnect; the task rows live in the task store, so a live patch shows.
 */
import { computed, onBeforeUnmount, ref, shallowRef } from 'vue';
import { unwrap, type Task, type UsageReport } from '@/api/client';
import { terminalStatuses } from '@/api/task-events';
import { useLiveStore } from '@/stores/live.store';
import { useSessionStore } from '@/stores/session.store';
import { useTaskStore } from '@/stores/tasks.store';
import { tasksWithUsage, usagePerDay } from './agent-usage';

/** How many finished tasks are fetched to find the latest with usage (shell and noop tasks report none). */
export const finishedScan = 50;
const endEvents = new Set(['TaskSucceeded', 'TaskFailed', 'TaskTimedOut', 'TaskCancelled', 'TaskDeleted']);

export function useAgentUsage(options: { days: number; tasks: number; delayMs?: number }) {
  const session = useSessionStore();
  const tasks = useTaskStore();
  const live = useLiveStore();
  const report = ref<UsageReport | null>(null);
  const finishedIds = shallowRef<string[]>([]);
  const error = ref<string | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;

  const today = () => new Date().toISOString().slice(0, 10);
  const perDay = computed(() => usagePerDay(report.value, today(), options.days));
  const perTask = computed(() =>
    tasksWithUsage(
      finishedIds.value.map((id) => tasks.byId[id]).filter((t): t is Task => t !== undefined),
      options.tasks,
    ),
  );

  async function refresh(): Promise<void> {
    try {
      const [usage, page] = await Promise.all([
        unwrap(session.api.GET('/api/v1/usage', { params: { query: {} } })),
        unwrap(session.api.GET('/api/v1/tasks', { params: { query: { status: [...terminalStatuses], limit: finishedScan, sort: '-created' } } })),
      ]);
      tasks.remember(page.items);
      report.value = usage;
      finishedIds.value = page.items.map((t) => t.id);
      error.value = null;
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  function schedule(): void {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), options.delayMs ?? 2_000);
  }

  const offEvent = tasks.onTaskEvent((e) => {
    if (endEvents.has(e.type)) schedule();
  });
  const offResync = live.onResync(schedule);
  void refresh();
  onBeforeUnmount(() => {
    clearTimeout(timer);
    offEvent();
    offResync();
  });

  return { report, perDay, perTask, error, refresh };
}

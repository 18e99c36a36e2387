/*
 * Tasks submitted and finished per minute over the last `windowMinutes`. Reads the tasks created
 * in the last `2 × windowMinutes` (so most tasks finishing in the window are seen), refetches on
 * task events (debounced) and slides the window every 15 s. The bucketing is pure
 * (`bucketPerMinute`), tested in overview.unit.spec.ts.
 */
import { computed, onBeforeUnmount, ref, shallowRef } from 'vue';
import { unwrap, type Task } from '@/api/client';
import { useLiveStore } from '@/stores/live.store';
import { useSessionStore } from '@/stores/session.store';
import { useTaskStore } from '@/stores/tasks.store';

export interface MinuteBuckets {
  /** Start of each minute, epoch ms, oldest first. */
  minutes: number[];
  submitted: number[];
  finished: number[];
}

export function bucketPerMinute(tasks: Pick<Task, 'createdAt' | 'finishedAt'>[], now: number, windowMinutes: number): MinuteBuckets {
  const end = Math.floor(now / 60_000) * 60_000;
  const start = end - (windowMinutes - 1) * 60_000;
  const minutes = Array.from({ length: windowMinutes }, (_, i) => start + i * 60_000);
  const submitted = new Array<number>(windowMinutes).fill(0);
  const finished = new Array<number>(windowMinutes).fill(0);
  const index = (iso: string | null) => {
    if (!iso) return -1;
    const i = Math.floor((Date.parse(iso) - start) / 60_000);
    return i >= 0 && i < windowMinutes ? i : -1;
  };
  for (const t of tasks) {
    const c = index(t.createdAt);
    if (c >= 0) submitted[c] += 1;
    const f = index(t.finishedAt);
    if (f >= 0) finished[f] += 1;
  }
  return { minutes, submitted, finished };
}

const maxPages = 5;

export function useTasksPerMinute(windowMinutes = 30) {
  const session = useSessionStore();
  const tasks = useTaskStore();
  const live = useLiveStore();
  const recent = shallowRef<Task[]>([]);
  const now = ref(Date.now());
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function refresh(): Promise<void> {
    const createdFrom = new Date(Date.now() - 2 * windowMinutes * 60_000).toISOString();
    const all: Task[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const res = await unwrap(
        session.api.GET('/api/v1/tasks', { params: { query: { createdFrom, limit: 200, sort: '-created', ...(cursor ? { cursor } : {}) } } }),
      );
      all.push(...res.items);
      if (!res.nextCursor) break;
      cursor = res.nextCursor;
    }
    recent.value = all;
    now.value = Date.now();
  }

  const buckets = computed(() => bucketPerMinute(recent.value, now.value, windowMinutes));
  const perMinuteNow = computed(() => buckets.value.submitted[buckets.value.submitted.length - 1] ?? 0);

  function schedule(): void {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh().catch(() => undefined), 1_000);
  }
  const offEvent = tasks.onTaskEvent((e) => {
    if (e.type === 'TaskCreated' || e.type === 'TaskSucceeded' || e.type === 'TaskFailed' || e.type === 'TaskTimedOut' || e.type === 'TaskCancelled')
      schedule();
  });
  const offResync = live.onResync(schedule);
  const tick = setInterval(() => (now.value = Date.now()), 15_000);
  void refresh().catch(() => undefined);
  onBeforeUnmount(() => {
    clearTimeout(timer);
    clearInterval(tick);
    offEvent();
    offResync();
  });

  return { buckets, perMinuteNow, refresh };
}

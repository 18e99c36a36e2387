/** Binds the task filters to the URL query: reading is computed from the route, writing replaces the query. */
import { computed } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { filtersToQuery, parseFilters, type TaskFilters } from './task-filters';

export function useTaskFilters() {
  const route = useRoute();
  const router = useRouter();
  const filters = computed(() => parseFilters(route.query));

  function update(patch: Partial<TaskFilters>): void {
    const keep = route.query.new ? { new: route.query.new } : {};
    void router.replace({ query: { ...keep, ...filtersToQuery({ ...filters.value, ...patch }) } });
  }

  function clear(): void {
    void router.replace({ query: {} });
  }

  return { filters, update, clear };
}

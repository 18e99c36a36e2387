/*
 * Workflows the user has: the list (with last run, schedules and active runs), full workflows by
 * id, the templates to start from, and the calls that change them. A workflow's or run's event on
 * the WebSocket refetches the list (debounced): its summary columns (last run, active runs, next
 * fire) are computed by the service's read model, so refetching is what keeps them exact.
 * Tested in workflows.store.unit.spec.ts.
 */
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import {
  unwrap,
  type Envelope,
  type InstantiatedTemplate,
  type InstantiateTemplateBody,
  type Items,
  type Run,
  type RunSummary,
  type Workflow,
  type WorkflowDefinition,
  type WorkflowSummary,
  type WorkflowTemplate,
  type WorkflowValidation,
} from '@/api/client';
import { useLiveStore } from './live.store';
import { useSessionStore } from './session.store';

const listRefreshDelayMs = 400;

export const useWorkflowStore = defineStore('workflows', () => {
  const session = useSessionStore();
  const live = useLiveStore();

  const items = shallowRef<WorkflowSummary[]>([]);
  const loaded = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const byId = shallowRef<Record<string, Workflow>>({});
  const templates = shallowRef<WorkflowTemplate[]>([]);
  /** Pages showing the list; the live refetch runs only while one is open. */
  let listWatchers = 0;
  let listTimer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;

  function remember(w: Workflow): Workflow {
    byId.value = { ...byId.value, [w.id]: w };
    const { definition: _d, ...summary } = w;
    if (items.value.some((i) => i.id === w.id)) items.value = items.value.map((i) => (i.id === w.id ? summary : i));
    return w;
  }

  async function fetchList(): Promise<void> {
    const g = ++generation;
    loading.value = true;
    try {
      const page = await unwrap(session.api.GET('/api/v1/workflows', { params: { query: { limit: 200 } } }));
      if (g !== generation) return;
      items.value = page.items;
      loaded.value = true;
      error.value = null;
    } catch (e) {
      if (g === generation) error.value = e instanceof Error ? e.message : String(e);
    } finally {
      if (g === generation) loading.value = false;
    }
  }

  function scheduleListRefresh(): void {
    if (listWatchers === 0) return;
    clearTimeout(listTimer);
    listTimer = setTimeout(() => void fetchList(), listRefreshDelayMs);
  }

  /** The list page asks for the list and its live refresh; call the returned function on leave. */
  function watchList(): () => void {
    listWatchers += 1;
    void fetchList();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      listWatchers -= 1;
      if (listWatchers === 0) clearTimeout(listTimer);
    };
  }

  async function fetchWorkflow(id: string): Promise<Workflow> {
    return remember(await unwrap(session.api.GET('/api/v1/workflows/{id}', { params: { path: { id } } })));
  }

  async function create(definition: WorkflowDefinition): Promise<Workflow> {
    const w = remember(await unwrap(session.api.POST('/api/v1/workflows', { body: definition })));
    scheduleListRefresh();
    return w;
  }

  /** Saves a new version. */
  async function update(id: string, definition: WorkflowDefinition): Promise<Workflow> {
    return remember(await unwrap(session.api.PUT('/api/v1/workflows/{id}', { params: { path: { id } }, body: definition })));
  }

  /** Deletes a workflow; a 409 (it has active runs) is thrown to the caller as it came. */
  async function remove(id: string): Promise<void> {
    await unwrap(session.api.DELETE('/api/v1/workflows/{id}', { params: { path: { id } } }));
    items.value = items.value.filter((w) => w.id !== id);
    const { [id]: _gone, ...rest } = byId.value;
    byId.value = rest;
  }

  async function execute(id: string, input: Record<string, unknown>): Promise<Run> {
    const run = await unwrap(session.api.POST('/api/v1/workflows/{id}/execute', { params: { path: { id } }, body: { input } }));
    scheduleListRefresh();
    return run;
  }

  async function pause(id: string): Promise<Workflow> {
    return remember(await unwrap(session.api.POST('/api/v1/workflows/{id}/pause', { params: { path: { id } } })));
  }

  async function resume(id: string): Promise<Workflow> {
    return remember(await unwrap(session.api.POST('/api/v1/workflows/{id}/resume', { params: { path: { id } } })));
  }

  async function runsOf(id: string): Promise<RunSummary[]> {
    return (await unwrap(session.api.GET('/api/v1/workflows/{id}/runs', { params: { path: { id }, query: { limit: 50 } } }))).items;
  }

  async function fetchTemplates(): Promise<WorkflowTemplate[]> {
    const body = await unwrap(session.api.GET('/api/v1/workflow-templates'));
    templates.value = (body as unknown as Items<WorkflowTemplate>).items;
    return templates.value;
  }

  async function instantiate(templateId: string, body: InstantiateTemplateBody): Promise<InstantiatedTemplate> {
    const out = await unwrap(session.api.POST('/api/v1/workflow-templates/{id}/instantiate', { params: { path: { id: templateId } }, body }));
    remember(out.workflow);
    if (!items.value.some((w) => w.id === out.workflow.id)) {
      const { definition: _d, ...summary } = out.workflow;
      items.value = [summary, ...items.value];
    }
    scheduleListRefresh();
    return out;
  }

  /** The compiler's verdict (errors with field paths, or the compiled graph); never saves. */
  async function validate(definition: unknown): Promise<WorkflowValidation> {
    return unwrap(session.api.POST('/api/v1/workflows/validate', { body: definition as WorkflowDefinition }));
  }

  function applyEvent(event: Envelope): void {
    if (event.streamId.startsWith('workflow-') || event.streamId.startsWith('run-')) scheduleListRefresh();
  }

  function reset(): void {
    items.value = [];
    byId.value = {};
    templates.value = [];
    loaded.value = false;
  }

  live.onEvent(applyEvent);
  live.onResync(scheduleListRefresh);

  return {
    items,
    loaded,
    loading,
    error,
    byId,
    templates,
    fetchList,
    watchList,
    fetchWorkflow,
    create,
    update,
    remove,
    execute,
    pause,
    resume,
    runsOf,
    fetchTemplates,
    instantiate,
    validate,
    applyEvent,
    reset,
  };
});

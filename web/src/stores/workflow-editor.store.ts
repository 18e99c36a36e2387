/*
 * The workflow being edited: the draft (workflow-draft.ts), what is selected, and what the server
 * says of it. Every change schedules a check with POST /workflows/validate (debounced), whose
 * errors are placed on the node, edge or field their path names; a refused save places its errors
 * the same way. A workflow of another kind opens read-only as its compiled graph (the validate
 * endpoint compiles it) until "Edit as graph" turns that graph into a draft. Answers to an older
 * draft are dropped (a revision counter), so a slow check never shows errors of text since changed.
 * Tested in workflow-editor.store.unit.spec.ts.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { ApiError, type GraphNodeDef, type GraphNodeType, type RunGraph, type ValidationIssue, type Workflow, type WorkflowKind } from '@/api/client';
import {
  connect as connectDraft,
  draftFromDefinition,
  draftFromGraph,
  emptyDraft,
  groupIssues,
  newNode,
  removeNode as removeDraftNode,
  toDefinition,
  type Draft,
  type DraftEdge,
  type Position,
} from '@/features/workflows/workflow-draft';
import { useWorkflowStore } from './workflows.store';

export const validateDelayMs = 400;

export type Selection = { kind: 'node'; key: string } | { kind: 'edge'; key: string } | null;

export const useWorkflowEditorStore = defineStore('workflow-editor', () => {
  const workflows = useWorkflowStore();

  const draft = ref<Draft>(emptyDraft());
  const workflowId = ref<string | null>(null);
  const version = ref<number | null>(null);
  /** The saved workflow's kind; not 'graph' means read-only until converted. */
  const sourceKind = ref<WorkflowKind>('graph');
  /** The compiled graph shown read-only for other kinds. */
  const compiled = shallowRef<RunGraph | null>(null);
  const selection = ref<Selection>(null);
  const issues = shallowRef<ValidationIssue[]>([]);
  const checking = ref(false);
  /** Set when the check itself failed (network, server): the draft's state is unknown. */
  const checkError = ref<string | null>(null);
  const saving = ref(false);
  const saveError = ref<string | null>(null);
  const dirty = ref(false);
  const loadError = ref<string | null>(null);
  const loading = ref(false);

  let revision = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const readOnly = computed(() => sourceKind.value !== 'graph');
  const grouped = computed(() => groupIssues(issues.value, draft.value));
  const valid = computed(() => issues.value.length === 0 && !checkError.value);
  const selectedNode = computed(() => (selection.value?.kind === 'node' ? (draft.value.nodes.find((n) => n.key === selection.value!.key) ?? null) : null));
  const selectedEdge = computed(() => (selection.value?.kind === 'edge' ? (draft.value.edges.find((e) => e.key === selection.value!.key) ?? null) : null));

  function clearState(): void {
    clearTimeout(timer);
    revision += 1;
    // A check in flight belongs to the old revision: its answer is dropped, so it must not leave "Checking…" behind.
    checking.value = false;
    selection.value = null;
    issues.value = [];
    checkError.value = null;
    saveError.value = null;
    dirty.value = false;
    compiled.value = null;
    loadError.value = null;
  }

  function startNew(): void {
    clearState();
    draft.value = emptyDraft();
    workflowId.value = null;
    version.value = null;
    sourceKind.value = 'graph';
  }

  async function load(id: string): Promise<void> {
    clearState();
    loading.value = true;
    try {
      const w = await workflows.fetchWorkflow(id);
      await open(w);
    } catch (e) {
      loadError.value = e instanceof Error ? e.message : String(e);
    } finally {
      loading.value = false;
    }
  }

  /** Shows a saved workflow: a graph as its draft, another kind as its compiled graph (read-only). */
  async function open(w: Workflow): Promise<void> {
    workflowId.value = w.id;
    version.value = w.version;
    sourceKind.value = w.definition.kind;
    if (w.definition.kind === 'graph') {
      draft.value = draftFromDefinition(w.definition);
      scheduleCheck(0);
      return;
    }
    const report = await workflows.validate(w.definition);
    compiled.value = report.graph;
    issues.value = report.errors;
    if (report.graph) draft.value = draftFromGraph(report.graph, w.definition);
  }

  /** "Edit as graph": the compiled graph becomes an editable graph; saving makes a new version of kind graph. */
  function convertToGraph(): void {
    if (!compiled.value) return;
    sourceKind.value = 'graph';
    dirty.value = true;
    scheduleCheck(0);
  }

  function changed(): void {
    dirty.value = true;
    saveError.value = null;
    scheduleCheck();
  }

  function scheduleCheck(delay = validateDelayMs): void {
    if (readOnly.value) return;
    clearTimeout(timer);
    const mine = ++revision;
    timer = setTimeout(() => void check(mine), delay);
  }

  async function check(mine = ++revision): Promise<void> {
    checking.value = true;
    try {
      const report = await workflows.validate(toDefinition(draft.value));
      if (mine !== revision) return;
      issues.value = report.errors;
      checkError.value = null;
    } catch (e) {
      if (mine === revision) checkError.value = e instanceof Error ? e.message : String(e);
    } finally {
      if (mine === revision) checking.value = false;
    }
  }

  function addNode(type: GraphNodeType, position: Position | null): string {
    const node = newNode(type, draft.value, position);
    draft.value.nodes.push(node);
    selection.value = { kind: 'node', key: node.key };
    changed();
    return node.key;
  }

  function updateNode(key: string, def: GraphNodeDef): void {
    const node = draft.value.nodes.find((n) => n.key === key);
    if (!node) return;
    node.def = def;
    changed();
  }

  function moveNode(key: string, position: Position): void {
    const node = draft.value.nodes.find((n) => n.key === key);
    if (!node) return;
    node.position = { x: position.x, y: position.y };
    dirty.value = true;
  }

  /** Positions from the automatic layout (display only: no check needed). */
  function setPositions(positions: Record<string, Position>): void {
    for (const n of draft.value.nodes) if (positions[n.key]) n.position = positions[n.key]!;
    dirty.value = true;
  }

  function deleteNode(key: string): void {
    removeDraftNode(draft.value, key);
    if (selection.value?.key === key) selection.value = null;
    changed();
  }

  function connect(from: string, to: string): string | null {
    const edge = connectDraft(draft.value, from, to);
    if (!edge) return null;
    selection.value = { kind: 'edge', key: edge.key };
    changed();
    return edge.key;
  }

  function updateEdge(key: string, patch: Partial<Pick<DraftEdge, 'condition' | 'loop'>>): void {
    const edge = draft.value.edges.find((e) => e.key === key);
    if (!edge) return;
    if ('condition' in patch) {
      if (patch.condition === undefined || patch.condition === '') delete edge.condition;
      else edge.condition = patch.condition;
    }
    if ('loop' in patch) {
      if (patch.loop) edge.loop = patch.loop;
      else delete edge.loop;
    }
    changed();
  }

  function deleteEdge(key: string): void {
    draft.value.edges = draft.value.edges.filter((e) => e.key !== key);
    if (selection.value?.key === key) selection.value = null;
    changed();
  }

  function updateWorkflow(patch: Partial<Pick<Draft, 'name' | 'description' | 'parameters' | 'settings'>>): void {
    Object.assign(draft.value, patch);
    changed();
  }

  function select(next: Selection): void {
    selection.value = next;
  }

  /** POST (new) or PUT (a new version); a refused save's errors land where its paths point. */
  async function save(): Promise<Workflow | null> {
    saving.value = true;
    saveError.value = null;
    clearTimeout(timer);
    const mine = ++revision;
    // As in clearState: a check in flight now answers for a revision nobody shows, and would never clear this.
    checking.value = false;
    try {
      const definition = toDefinition(draft.value);
      const w = workflowId.value ? await workflows.update(workflowId.value, definition) : await workflows.create(definition);
      workflowId.value = w.id;
      version.value = w.version;
      sourceKind.value = 'graph';
      dirty.value = false;
      if (mine === revision) issues.value = [];
      return w;
    } catch (e) {
      saveError.value = e instanceof Error ? e.message : String(e);
      if (e instanceof ApiError && Array.isArray(e.details) && mine === revision) issues.value = issueList(e.details);
      return null;
    } finally {
      saving.value = false;
    }
  }

  return {
    draft,
    workflowId,
    version,
    sourceKind,
    compiled,
    selection,
    issues,
    checking,
    checkError,
    saving,
    saveError,
    dirty,
    loadError,
    loading,
    readOnly,
    grouped,
    valid,
    selectedNode,
    selectedEdge,
    startNew,
    load,
    open,
    convertToGraph,
    scheduleCheck,
    check,
    addNode,
    updateNode,
    moveNode,
    setPositions,
    deleteNode,
    connect,
    updateEdge,
    deleteEdge,
    updateWorkflow,
    select,
    save,
  };
});

/** The `{field, message}` entries of an error body's details. */
function issueList(details: unknown[]): ValidationIssue[] {
  return details.flatMap((d) => (d && typeof d === 'object' && 'field' in d && 'message' in d ? [{ field: String(d.field), message: String(d.message) }] : []));
}

/*
 * The editor's document: a `kind: 'graph'` workflow being edited, as plain data. Nodes and edges
 * carry a stable editor key (`n1`, `e1`) besides the node id a person types, so renaming a node
 * never breaks its edges or the canvas; `toDefinition` writes the ids out. Also: the compiled
 * graph of another kind turned into an editable graph ("Edit as graph"), the server's error
 * paths (`nodes[2].task.input.command`, `edges.1.condition`) mapped onto the node, edge or field
 * they name, and a condition checked with the service's own parser. Pure; tested in
 * workflow-draft.unit.spec.ts.
 */
import { ExpressionError, parseExpression } from '@agentyard/contracts';
import type {
  GraphDefinition,
  GraphEdgeDef,
  GraphNodeDef,
  GraphNodeType,
  RunGraph,
  TaskSpec,
  ValidationIssue,
  WorkflowDefinition,
  WorkflowParameter,
  WorkflowSettings,
} from '@/api/client';

export interface Position {
  x: number;
  y: number;
}

export interface DraftNode {
  key: string;
  def: GraphNodeDef;
  position: Position | null;
}

export interface DraftEdge {
  key: string;
  /** Editor keys of the ends (not node ids). */
  from: string;
  to: string;
  condition?: string;
  loop?: { maxIterations: number; onExhausted: 'fail' | 'continue' };
}

export interface Draft {
  name: string;
  description: string;
  parameters: WorkflowParameter[];
  settings: WorkflowSettings;
  nodes: DraftNode[];
  edges: DraftEdge[];
}

export const nodeTypes: readonly GraphNodeType[] = ['task', 'director', 'approval', 'gate', 'select'];

export const nodeTypeInfo: Record<GraphNodeType, { label: string; hint: string }> = {
  task: { label: 'Task', hint: 'Runs a task on a worker' },
  director: { label: 'Director', hint: 'A task whose output is a plan; its steps become nodes' },
  approval: { label: 'Approval', hint: 'Waits for a person to approve or reject' },
  gate: { label: 'Gate', hint: 'Joins branches; runs nothing' },
  select: { label: 'Select', hint: 'Picks one predecessor’s result' },
};

export function emptyDraft(): Draft {
  return { name: 'Untitled workflow', description: '', parameters: [], settings: { maxParallel: 10 }, nodes: [], edges: [] };
}

/** The next free key with `prefix` (n1, n2…) among `taken`. */
export function nextKey(prefix: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  let i = 1;
  while (used.has(`${prefix}${i}`)) i += 1;
  return `${prefix}${i}`;
}

/** A new node of `type` with a free id (`task1`, `approval2`…) and a runnable default. */
export function newNode(type: GraphNodeType, draft: Draft, position: Position | null = null): DraftNode {
  const key = nextKey(
    'n',
    draft.nodes.map((n) => n.key),
  );
  const id = nextKey(
    type,
    draft.nodes.map((n) => n.def.id),
  );
  const task = (): TaskSpec => ({ description: id, tool: 'shell', input: { command: `echo ${id}` } });
  let def: GraphNodeDef;
  switch (type) {
    case 'task':
      def = { id, type, task: task() };
      break;
    case 'director':
      def = { id, type, task: task(), plan: { maxSteps: 10, maxDepth: 1 } };
      break;
    case 'approval':
      def = { id, type, timeoutSeconds: 86_400, onTimeout: 'reject' };
      break;
    case 'gate':
      def = { id, type, cancelRemaining: false };
      break;
    case 'select':
      def = { id, type, strategy: 'first-success', cancelRemaining: true };
      break;
  }
  return { key, def, position };
}

/** Adds an edge from → to (editor keys) unless one exists already; returns the draft's edge. */
export function connect(draft: Draft, from: string, to: string): DraftEdge | null {
  if (draft.edges.some((e) => e.from === from && e.to === to)) return null;
  const edge: DraftEdge = {
    key: nextKey(
      'e',
      draft.edges.map((e) => e.key),
    ),
    from,
    to,
  };
  draft.edges.push(edge);
  return edge;
}

/** Removes a node and every edge touching it. */
export function removeNode(draft: Draft, key: string): void {
  draft.nodes = draft.nodes.filter((n) => n.key !== key);
  draft.edges = draft.edges.filter((e) => e.from !== key && e.to !== key);
}

/** A saved `kind: 'graph'` definition as a draft. */
export function draftFromDefinition(def: GraphDefinition): Draft {
  const nodes = def.nodes.map((n, i) => ({ key: `n${i + 1}`, def: structuredClone(n), position: def.layout?.[n.id] ?? null }));
  const keyOf = new Map(nodes.map((n) => [n.def.id, n.key]));
  const edges = (def.edges ?? []).map((e, i) => ({
    key: `e${i + 1}`,
    // An edge naming an unknown node keeps the name so the server's error still points at it.
    from: keyOf.get(e.from) ?? e.from,
    to: keyOf.get(e.to) ?? e.to,
    ...(e.condition !== undefined ? { condition: e.condition } : {}),
    ...(e.loop ? { loop: { maxIterations: e.loop.maxIterations, onExhausted: e.loop.onExhausted ?? 'fail' } } : {}),
  }));
  return {
    name: def.name,
    description: def.description ?? '',
    parameters: structuredClone(def.parameters ?? []),
    settings: { maxParallel: def.settings?.maxParallel ?? 10, ...(def.settings?.timeoutSeconds ? { timeoutSeconds: def.settings.timeoutSeconds } : {}) },
    nodes,
    edges,
  };
}

/**
 * Another kind's compiled graph as an editable graph ("Edit as graph"): each runtime node becomes
 * the graph node of its type. Plans expand at run time, so a director stays one node. A
 * Concurrent workflow's copies lose their anti-affinity (a graph node has no such field).
 */
export function draftFromGraph(graph: RunGraph, source: Pick<WorkflowDefinition, 'name' | 'description' | 'parameters' | 'settings'>): Draft {
  const nodes: DraftNode[] = graph.nodes
    .filter((n) => n.depth === 0)
    .map((n, i) => {
      const base = { id: n.id, ...(n.label ? { label: n.label } : {}), ...(n.join !== 'all' ? { join: n.join } : {}) };
      let def: GraphNodeDef;
      switch (n.type) {
        case 'task':
          def = { ...base, type: 'task', task: n.task ?? { tool: 'noop', input: {} } };
          break;
        case 'director':
          def = { ...base, type: 'director', task: n.task ?? { tool: 'noop', input: {} }, ...(n.plan ? { plan: n.plan } : {}) };
          break;
        case 'approval':
          def = {
            ...base,
            type: 'approval',
            ...(n.approval?.message ? { message: n.approval.message } : {}),
            timeoutSeconds: n.approval?.timeoutSeconds ?? 86_400,
            onTimeout: n.approval?.onTimeout ?? 'reject',
          };
          break;
        case 'gate':
          def = { ...base, type: 'gate', cancelRemaining: n.cancelRemaining ?? false };
          break;
        case 'select':
          def = {
            ...base,
            type: 'select',
            strategy: n.select?.strategy ?? 'first-success',
            ...(n.select?.judge ? { judge: n.select.judge } : {}),
            ...(n.select?.voteOn ? { voteOn: n.select.voteOn } : {}),
            cancelRemaining: n.cancelRemaining ?? true,
          };
          break;
      }
      return { key: `n${i + 1}`, def, position: null };
    });
  const keyOf = new Map(nodes.map((n) => [n.def.id, n.key]));
  const edges: DraftEdge[] = graph.edges
    .filter((e) => keyOf.has(e.from) && keyOf.has(e.to))
    .map((e, i) => ({
      key: `e${i + 1}`,
      from: keyOf.get(e.from)!,
      to: keyOf.get(e.to)!,
      ...(e.condition !== undefined ? { condition: e.condition } : {}),
      ...(e.loop ? { loop: e.loop } : {}),
    }));
  return {
    name: source.name,
    description: source.description ?? '',
    parameters: structuredClone(source.parameters ?? []),
    settings: {
      maxParallel: source.settings?.maxParallel ?? 10,
      ...(source.settings?.timeoutSeconds ? { timeoutSeconds: source.settings.timeoutSeconds } : {}),
    },
    nodes,
    edges,
  };
}

/** The definition to validate or save; node positions go to `layout`. */
export function toDefinition(draft: Draft): GraphDefinition {
  const idOf = new Map(draft.nodes.map((n) => [n.key, n.def.id]));
  const edges: GraphEdgeDef[] = draft.edges.map((e) => ({
    from: idOf.get(e.from) ?? e.from,
    to: idOf.get(e.to) ?? e.to,
    ...(e.condition !== undefined && e.condition.trim() !== '' ? { condition: e.condition } : {}),
    ...(e.loop ? { loop: e.loop } : {}),
  }));
  const layout: Record<string, Position> = {};
  for (const n of draft.nodes) if (n.position && n.def.id) layout[n.def.id.slice(0, 64)] = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
  return {
    kind: 'graph',
    name: draft.name,
    ...(draft.description.trim() ? { description: draft.description } : {}),
    parameters: draft.parameters,
    settings: draft.settings,
    nodes: draft.nodes.map((n) => n.def),
    edges,
    layout,
  };
}

export type IssueTarget = { scope: 'node'; key: string; field: string } | { scope: 'edge'; key: string; field: string } | { scope: 'workflow'; field: string };

export interface LocatedIssue extends ValidationIssue {
  target: IssueTarget;
}

/** `nodes[2].task.input.command` and zod's `nodes.2.task.input.command` alike. */
const indexed = /^(nodes|edges)(?:\[(\d+)\]|\.(\d+))(?:\.(.*))?$/;

/** Where an error the server returned belongs: the node or edge its path names (by position), or the workflow. */
export function locateIssue(issue: ValidationIssue, draft: Draft): LocatedIssue {
  const m = indexed.exec(issue.field);
  if (m) {
    const index = Number(m[2] ?? m[3]);
    const field = m[4] ?? '';
    if (m[1] === 'nodes' && draft.nodes[index]) return { ...issue, target: { scope: 'node', key: draft.nodes[index].key, field } };
    if (m[1] === 'edges' && draft.edges[index]) return { ...issue, target: { scope: 'edge', key: draft.edges[index].key, field } };
  }
  return { ...issue, target: { scope: 'workflow', field: issue.field } };
}

/** Issues grouped by what they name: `byNode[key]`, `byEdge[key]`, and the workflow's own. */
export function groupIssues(issues: readonly ValidationIssue[], draft: Draft) {
  const byNode: Record<string, LocatedIssue[]> = {};
  const byEdge: Record<string, LocatedIssue[]> = {};
  const workflow: LocatedIssue[] = [];
  for (const issue of issues) {
    const located = locateIssue(issue, draft);
    const t = located.target;
    if (t.scope === 'node') (byNode[t.key] ??= []).push(located);
    else if (t.scope === 'edge') (byEdge[t.key] ??= []).push(located);
    else workflow.push(located);
  }
  return { byNode, byEdge, workflow };
}

/** The message for a field (`task.input.command`) among a node's or edge's issues: an exact match, or one about a part of it. */
export function issueAt(issues: readonly LocatedIssue[] | undefined, field: string): string | undefined {
  if (!issues) return undefined;
  const hit = issues.find((i) => i.target.field === field) ?? issues.find((i) => i.target.field.startsWith(`${field}.`));
  return hit?.message;
}

export interface ConditionCheck {
  message: string;
  /** 0-based character position, when the parser knows it. */
  position?: number;
}

/** A condition as typed, checked with the service's parser: null when it parses (or is empty: the default applies). */
export function checkCondition(text: string | undefined): ConditionCheck | null {
  if (text === undefined || text.trim() === '') return null;
  try {
    parseExpression(text);
    return null;
  } catch (e) {
    if (e instanceof ExpressionError) return { message: e.message, ...(e.position !== undefined ? { position: e.position } : {}) };
    throw e;
  }
}

/** A short line describing a node for its card on the canvas. */
export function nodeSummary(def: Pick<GraphNodeDef, 'type'> & Partial<Record<string, unknown>>): string {
  const task = def.task as TaskSpec | undefined;
  switch (def.type) {
    case 'task':
    case 'director': {
      if (!task) return '';
      const input = task.input ?? {};
      const text = typeof input.command === 'string' ? input.command : typeof input.prompt === 'string' ? input.prompt : '';
      return `${task.tool}${text ? `: ${text}` : ''}`;
    }
    case 'approval':
      return `default ${String(def.onTimeout ?? 'reject')} after ${Math.round(Number(def.timeoutSeconds ?? 86_400) / 3600)} h`;
    case 'gate':
      return 'join';
    case 'select':
      return String(def.strategy ?? '');
    default:
      return '';
  }
}

/** The join as one word: all, any, done or k=2. */
export function joinLabel(join: GraphNodeDef['join'] | undefined): string {
  if (join === undefined) return 'all';
  return typeof join === 'string' ? join : `k=${join.k}`;
}

/*
 * Compiles a workflow definition (any of the five kinds) onto the one runtime graph (brief §9),
 * and checks what a schema cannot: ids unique, edges between existing nodes, the forward edges
 * acyclic (a cycle names an edge to mark as a bounded loop-back), loop-back edges pointing back,
 * expressions that parse (with the character position) and name only nodes that run before
 * them and declared parameters, joins that can be satisfied, judges that are predecessors.
 *
 * Pure. Every problem found is reported at once as VALIDATION_FAILED with one `{field, message}`
 * per problem, so the editor can mark them all. The graph's nodes come out in a topological
 * order of the forward edges (ties by definition order), which the run decider relies on to
 * decide deterministically.
 */
import {
  DomainError,
  ExpressionError,
  parseExpression,
  parseTemplate,
  referencedPaths,
  type GraphEdge,
  type GraphNode,
  type ExpressionNode,
  type Join,
  type RunEdge,
  type RunGraph,
  type RunNode,
  type TaskSpec,
  type WorkflowDefinition,
} from '@agentyard/contracts';
import { templateStrings } from './expression.evaluate';

export interface CompileIssue {
  field: string;
  message: string;
}

/** A node as written, with where it came from (for messages). */
interface SourceNode {
  node: RunNode;
  field: string;
}
interface SourceEdge {
  edge: GraphEdge;
  field: string;
}

export const edgeId = (from: string, to: string): string => `${from}->${to}`;

/** The definition's run graph, or VALIDATION_FAILED listing every problem. */
export function compileDefinition(definition: WorkflowDefinition): RunGraph {
  const issues: CompileIssue[] = [];
  const { nodes, edges } = expand(definition);
  const graph = checkGraph(nodes, edges, definition, issues);
  if (issues.length > 0 || !graph) {
    throw new DomainError('VALIDATION_FAILED', `invalid workflow: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, issues);
  }
  return graph;
}

/** Like compileDefinition, but returns the problems instead of throwing (the editor's check). */
export function validateDefinition(definition: WorkflowDefinition): { graph: RunGraph | null; issues: CompileIssue[] } {
  try {
    return { graph: compileDefinition(definition), issues: [] };
  } catch (error) {
    if (error instanceof DomainError && Array.isArray(error.details)) return { graph: null, issues: error.details as CompileIssue[] };
    throw error;
  }
}

function taskNode(id: string, spec: TaskSpec, extra: Partial<RunNode> = {}): RunNode {
  return { id, type: 'task', join: 'all', task: spec, depth: 0, ...extra };
}

/** The compact kinds written out as nodes and edges. */
function expand(d: WorkflowDefinition): { nodes: SourceNode[]; edges: SourceEdge[] } {
  switch (d.kind) {
    case 'graph':
      return {
        nodes: d.nodes.map((n, i) => ({ node: fromGraphNode(n), field: `nodes[${i}]` })),
        edges: d.edges.map((e, i) => ({ edge: e, field: `edges[${i}]` })),
      };
    case 'sequential': {
      const nodes = d.steps.map((s, i) => ({ node: taskNode(s.id ?? `step${i + 1}`, s.task, s.label ? { label: s.label } : {}), field: `steps[${i}]` }));
      const edges = nodes.slice(1).map((n, i) => ({ edge: { from: nodes[i]!.node.id, to: n.node.id }, field: `steps[${i + 1}]` }));
      return { nodes, edges };
    }
    case 'concurrent': {
      const copies = Array.from({ length: d.count }, (_, i) => ({
        node: taskNode(`copy${i + 1}`, d.task, { label: `copy ${i + 1} of ${d.count}`, ...(d.distinctWorkers ? { antiAffinity: 'copies' } : {}) }),
        field: 'task',
      }));
      const join: SourceNode = { node: { id: 'join', type: 'gate', join: d.join, cancelRemaining: d.cancelRemaining, depth: 0, label: 'join' }, field: 'join' };
      const nodes = [...copies, join];
      const edges: SourceEdge[] = copies.map((c) => ({ edge: { from: c.node.id, to: 'join' }, field: 'join' }));
      if (d.then) {
        nodes.push({ node: taskNode('then', d.then), field: 'then' });
        edges.push({ edge: { from: 'join', to: 'then' }, field: 'then' });
      }
      return { nodes, edges };
    }
    case 'hierarchical':
      return {
        nodes: [{ node: { id: 'director', type: 'director', join: 'all', task: d.director, plan: d.plan, depth: 0, label: 'director' }, field: 'director' }],
        edges: [],
      };
    case 'mixture': {
      const candidates = d.candidates.map((c, i) => ({
        node: taskNode(c.id ?? `candidate${i + 1}`, c.task, c.label ? { label: c.label } : {}),
        field: `candidates[${i}]`,
      }));
      const strategy = d.aggregator.strategy;
      const nodes: SourceNode[] = [...candidates];
      const edges: SourceEdge[] = [];
      if (strategy === 'judge' && d.aggregator.judge) {
        nodes.push({ node: taskNode('judge', d.aggregator.judge, { join: 'done', label: 'judge' }), field: 'aggregator.judge' });
        for (const c of candidates) edges.push({ edge: { from: c.node.id, to: 'judge' }, field: 'aggregator.judge' });
      }
      nodes.push({
        node: {
          id: 'pick',
          type: 'select',
          join: selectJoin(strategy),
          select: { strategy, ...(strategy === 'judge' ? { judge: 'judge' } : {}), ...(d.aggregator.voteOn ? { voteOn: d.aggregator.voteOn } : {}) },
          cancelRemaining: strategy === 'first-success',
          depth: 0,
          label: `pick (${strategy})`,
        },
        field: 'aggregator',
      });
      for (const c of candidates) edges.push({ edge: { from: c.node.id, to: 'pick' }, field: 'aggregator' });
      if (strategy === 'judge') edges.push({ edge: { from: 'judge', to: 'pick' }, field: 'aggregator' });
      if (d.then) {
        nodes.push({ node: taskNode('then', d.then), field: 'then' });
        edges.push({ edge: { from: 'pick', to: 'then' }, field: 'then' });
      }
      return { nodes, edges };
    }
  }
}

/** A select waits for the first success, or for every candidate to be decided. */
function selectJoin(strategy: NonNullable<RunNode['select']>['strategy']): Join {
  return strategy === 'first-success' ? 'any' : 'done';
}

function fromGraphNode(n: GraphNode): RunNode {
  const base = { id: n.id, depth: 0, ...(n.label ? { label: n.label } : {}) };
  switch (n.type) {
    case 'task':
      return { ...base, type: 'task', join: n.join ?? 'all', task: n.task };
    case 'director':
      return { ...base, type: 'director', join: n.join ?? 'all', task: n.task, plan: n.plan };
    case 'approval':
      return {
        ...base,
        type: 'approval',
        join: n.join ?? 'all',
        approval: { ...(n.message !== undefined ? { message: n.message } : {}), timeoutSeconds: n.timeoutSeconds, onTimeout: n.onTimeout },
      };
    case 'gate':
      return { ...base, type: 'gate', join: n.join ?? 'all', cancelRemaining: n.cancelRemaining };
    case 'select':
      return {
        ...base,
        type: 'select',
        join: n.join ?? selectJoin(n.strategy),
        select: { strategy: n.strategy, ...(n.judge ? { judge: n.judge } : {}), ...(n.voteOn ? { voteOn: n.voteOn } : {}) },
        cancelRemaining: n.cancelRemaining,
      };
  }
}

/** Node ids in a topological order of `edges` (ties by position in `ids`), or the edges left on a cycle. */
export function topologicalOrder(
  ids: readonly string[],
  edges: readonly { from: string; to: string }[],
): { order: string[]; cyclic: { from: string; to: string }[] } {
  const indegree = new Map(ids.map((id) => [id, 0]));
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of edges) {
    indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);
    out.get(e.from)?.push(e.to);
  }
  const position = new Map(ids.map((id, i) => [id, i]));
  const ready = ids.filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!);
    const id = ready.shift()!;
    order.push(id);
    for (const to of out.get(id) ?? []) {
      const left = indegree.get(to)! - 1;
      indegree.set(to, left);
      if (left === 0) ready.push(to);
    }
  }
  const placed = new Set(order);
  return { order, cyclic: edges.filter((e) => !placed.has(e.from) && !placed.has(e.to)) };
}

/** Every node that reaches `id` along `edges` (not `id` itself unless on a cycle). */
export function ancestorsOf(id: string, edges: readonly { from: string; to: string }[]): Set<string> {
  const into = predecessors(edges);
  const seen = new Set<string>();
  const stack = [...(into.get(id) ?? [])];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const p of into.get(n) ?? []) stack.push(p);
  }
  return seen;
}

function predecessors(edges: readonly { from: string; to: string }[]): Map<string, string[]> {
  const into = new Map<string, string[]>();
  for (const e of edges) {
    const list = into.get(e.to);
    if (list) list.push(e.from);
    else into.set(e.to, [e.from]);
  }
  return into;
}

/**
 * Every node's ancestors at once, in topological `order`: a node's set is its predecessors'
 * sets joined. One pass over the edges instead of a search per node, which made a 1,000-way
 * fan-in take seconds to compile.
 */
function allAncestors(order: readonly string[], edges: readonly { from: string; to: string }[]): Map<string, Set<string>> {
  const into = predecessors(edges);
  const result = new Map<string, Set<string>>();
  for (const id of order) {
    const set = new Set<string>();
    for (const p of into.get(id) ?? []) {
      set.add(p);
      for (const a of result.get(p)!) set.add(a);
    }
    result.set(id, set);
  }
  return result;
}

/** Roots a node's templates may read (conditions: nodes and run only). */
const templateRoots = new Set(['nodes', 'run', 'node', 'inputs']);
const conditionRoots = new Set(['nodes', 'run']);

function checkGraph(nodes: SourceNode[], sourceEdges: SourceEdge[], d: WorkflowDefinition, issues: CompileIssue[]): RunGraph | undefined {
  const byId = new Map<string, SourceNode>();
  for (const n of nodes) {
    if (byId.has(n.node.id)) issues.push({ field: `${n.field}.id`, message: `node id ${n.node.id} is used twice` });
    else byId.set(n.node.id, n);
  }
  const seenEdges = new Set<string>();
  const edges: (RunEdge & { field: string })[] = [];
  for (const { edge, field } of sourceEdges) {
    let ok = true;
    for (const end of ['from', 'to'] as const) {
      if (!byId.has(edge[end])) {
        issues.push({ field: `${field}.${end}`, message: `edge ${edge.from}→${edge.to} names unknown node ${edge[end]}` });
        ok = false;
      }
    }
    const id = edgeId(edge.from, edge.to);
    if (seenEdges.has(id)) {
      issues.push({ field, message: `edge ${edge.from}→${edge.to} is given twice` });
      ok = false;
    }
    seenEdges.add(id);
    if (edge.from === edge.to && !edge.loop) {
      issues.push({ field, message: `edge ${edge.from}→${edge.to} points at its own node: mark it as a loop-back edge (loop.maxIterations) or remove it` });
      ok = false;
    }
    if (ok)
      edges.push({
        id,
        from: edge.from,
        to: edge.to,
        ...(edge.condition !== undefined ? { condition: edge.condition } : {}),
        ...(edge.loop ? { loop: { maxIterations: edge.loop.maxIterations, onExhausted: edge.loop.onExhausted } } : {}),
        field,
      });
  }
  if (issues.length > 0) return undefined;

  const forward = edges.filter((e) => !e.loop);
  const ids = nodes.map((n) => n.node.id);
  const { order, cyclic } = topologicalOrder(ids, forward);
  if (cyclic.length > 0) {
    // Name the first edge (in definition order) that lies on a cycle.
    const onCycle =
      forward.find((e) => cyclic.some((c) => c.from === e.from && c.to === e.to) && ancestorsOf(e.from, forward).has(e.to)) ??
      forward.find((e) => cyclic.includes(e));
    const e = onCycle ?? forward[0]!;
    issues.push({ field: e.field, message: `edge ${e.from}→${e.to} closes a cycle: mark it as a loop-back edge with loop.maxIterations, or remove it` });
    return undefined;
  }
  const ancestors = allAncestors(order, forward);
  for (const e of edges.filter((x) => x.loop)) {
    if (e.from !== e.to && !ancestors.get(e.from)!.has(e.to)) {
      issues.push({ field: e.field, message: `loop-back edge ${e.from}→${e.to} must point back to a node that runs before ${e.from}` });
    }
  }

  const parameters = new Set(d.parameters.map((p) => p.name));
  const incomingCount = new Map<string, number>();
  for (const e of forward) incomingCount.set(e.to, (incomingCount.get(e.to) ?? 0) + 1);

  const known = new Set(ids);
  const scope = (roots: Set<string>, before: Set<string>, what: string): Scope => ({ roots, before, known, parameters, what });
  for (const e of edges) {
    if (e.condition === undefined) continue;
    checkCondition(
      e.condition,
      `${e.field}.condition`,
      scope(conditionRoots, new Set([...ancestors.get(e.from)!, e.from]), `the condition of edge ${e.from}→${e.to}`),
      issues,
    );
  }

  for (const { node, field } of nodes) {
    const before = ancestors.get(node.id)!;
    const k = typeof node.join === 'object' ? node.join.k : undefined;
    if (k !== undefined && k > (incomingCount.get(node.id) ?? 0))
      issues.push({ field: `${field}.join`, message: `node ${node.id} waits for ${k} incoming edges but has ${incomingCount.get(node.id) ?? 0}` });
    if (node.task) checkTemplates(node.task, `${field}.task`, scope(templateRoots, before, `node ${node.id}`), issues);
    if (node.approval?.message) checkTemplate(node.approval.message, `${field}.message`, scope(templateRoots, before, `node ${node.id}`), issues);
    if (node.plan) {
      // A plan's step and review tasks run after the director: they may read it and what it read.
      const planBefore = new Set([...before, node.id]);
      if (node.plan.step)
        checkTemplates(node.plan.step, `${field}.plan.step`, scope(new Set([...templateRoots, 'step']), planBefore, `node ${node.id}'s steps`), issues);
      if (node.plan.review) checkTemplates(node.plan.review, `${field}.plan.review`, scope(templateRoots, planBefore, `node ${node.id}'s review`), issues);
    }
    if (node.type === 'select') {
      const preds = forward.filter((e) => e.to === node.id).map((e) => e.from);
      if (preds.length === 0) issues.push({ field, message: `select node ${node.id} has no candidates: connect the candidates to it` });
      if (node.select?.strategy === 'judge') {
        const judge = node.select.judge;
        if (!judge) issues.push({ field: `${field}.judge`, message: `select node ${node.id} uses a judge: name the judge node` });
        else if (!preds.includes(judge) || byId.get(judge)?.node.type !== 'task')
          issues.push({ field: `${field}.judge`, message: `judge ${judge} must be a task node connected to ${node.id}` });
      }
    }
  }
  if (issues.length > 0) return undefined;
  return {
    nodes: order.map((id) => byId.get(id)!.node),
    edges: edges.map(({ field: _field, ...e }) => e),
  };
}

/** What an expression at one place may read. */
interface Scope {
  roots: Set<string>;
  /** Nodes that run before this place (their results exist when it is evaluated). */
  before: Set<string>;
  known: Set<string>;
  parameters: Set<string>;
  /** "node test", "edge a→b": for messages. */
  what: string;
}

function checkTemplates(spec: TaskSpec, field: string, scope: Scope, issues: CompileIssue[]): void {
  const strings = [...(spec.description ? [{ path: ['description'], text: spec.description }] : []), ...templateStrings(spec.input, ['input'])];
  for (const s of strings) checkTemplate(s.text, `${field}.${s.path.join('.')}`, scope, issues);
}

function checkTemplate(text: string, field: string, scope: Scope, issues: CompileIssue[]): void {
  let parts;
  try {
    parts = parseTemplate(text);
  } catch (error) {
    if (error instanceof ExpressionError) {
      issues.push({ field, message: error.message });
      return;
    }
    throw error;
  }
  for (const p of parts) if (p.kind === 'expr') checkReferences(p.ast, `{{${p.source}}}`, field, scope, issues);
}

function checkCondition(text: string, field: string, scope: Scope, issues: CompileIssue[]): void {
  try {
    checkReferences(parseExpression(text), text, field, scope, issues);
  } catch (error) {
    if (error instanceof ExpressionError) issues.push({ field, message: `syntax error in ${JSON.stringify(text)}: ${error.message}` });
    else throw error;
  }
}

function checkReferences(ast: ExpressionNode, source: string, field: string, scope: Scope, issues: CompileIssue[]): void {
  for (const ref of referencedPaths(ast)) {
    if (!scope.roots.has(ref.root)) {
      issues.push({ field, message: `${source}: ${scope.what} cannot read ${ref.root} (it can read ${[...scope.roots].join(', ')})` });
    } else if (ref.root === 'nodes' && ref.key !== undefined) {
      if (!scope.known.has(ref.key)) issues.push({ field, message: `${source}: there is no node ${ref.key}` });
      else if (!scope.before.has(ref.key)) issues.push({ field, message: `${source}: ${scope.what} reads node ${ref.key}, which does not run before it` });
    }
  }
  // run.input.<name> must be a declared parameter.
  for (const m of source.matchAll(/run\s*\.\s*input\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)/g)) {
    if (!scope.parameters.has(m[1]!)) issues.push({ field, message: `${source}: run.input.${m[1]} is not a declared parameter (add it to parameters)` });
  }
}

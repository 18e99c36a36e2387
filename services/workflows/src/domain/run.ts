/*
 * A workflow run: its state as folded from the stream `run-<runId>`. Pure — no NestJS, kysely or
 * NATS. The events are the contracts' (runEvents); every decision the run made is one of them
 * (which node was scheduled with which task, which edges were taken, which loop went back), so
 * folding a stored history never re-decides anything: it only applies what was decided.
 *
 * Invariants:
 *  - A node's `taskId` names the task of its current (iteration, generation); a task event that
 *    names another task is stale and changes nothing (the run's fencing).
 *  - `graph.nodes` stays in a topological order of the forward edges, also after a plan is
 *    expanded (the plan's nodes are inserted right after their director).
 */
import type { z } from 'zod';
import {
  approvalDecidedV1,
  approvalRequestedV1,
  edgesDecidedV1,
  loopedBackV1,
  nodeCancelledV1,
  nodeFailedV1,
  nodeScheduledV1,
  nodeSkippedV1,
  nodeStartedV1,
  nodesRetriedV1,
  nodeSucceededV1,
  planExpandedV1,
  runCancelledV1,
  runFailedV1,
  runPausedV1,
  runResumedV1,
  runStartedV1,
  runSucceededV1,
  runTimedOutV1,
  selectionRequestedV1,
  winnerChosenV1,
  type EventOf,
  type NodeStatus,
  type RunEdge,
  type RunGraph,
  type RunNode,
  type RunStatus,
  type RunTrigger,
  type WorkflowKind,
  type WorkflowSettings,
  type runEvents,
} from '@agentyard/contracts';

/** Event type → payload, derived from the contracts' schemas. */
export interface RunEventData {
  RunStarted: z.infer<typeof runStartedV1.schema>;
  NodeScheduled: z.infer<typeof nodeScheduledV1.schema>;
  NodeStarted: z.infer<typeof nodeStartedV1.schema>;
  NodeSucceeded: z.infer<typeof nodeSucceededV1.schema>;
  NodeFailed: z.infer<typeof nodeFailedV1.schema>;
  EdgesDecided: z.infer<typeof edgesDecidedV1.schema>;
  NodeSkipped: z.infer<typeof nodeSkippedV1.schema>;
  NodeCancelled: z.infer<typeof nodeCancelledV1.schema>;
  ApprovalRequested: z.infer<typeof approvalRequestedV1.schema>;
  ApprovalDecided: z.infer<typeof approvalDecidedV1.schema>;
  SelectionRequested: z.infer<typeof selectionRequestedV1.schema>;
  WinnerChosen: z.infer<typeof winnerChosenV1.schema>;
  PlanExpanded: z.infer<typeof planExpandedV1.schema>;
  LoopedBack: z.infer<typeof loopedBackV1.schema>;
  NodesRetried: z.infer<typeof nodesRetriedV1.schema>;
  RunPaused: z.infer<typeof runPausedV1.schema>;
  RunResumed: z.infer<typeof runResumedV1.schema>;
  RunCancelled: z.infer<typeof runCancelledV1.schema>;
  RunTimedOut: z.infer<typeof runTimedOutV1.schema>;
  RunSucceeded: z.infer<typeof runSucceededV1.schema>;
  RunFailed: z.infer<typeof runFailedV1.schema>;
}
export type RunEventType = keyof RunEventData;
/** A run event as a discriminated union: a switch on `type` narrows `data`. */
export type RunEvent = { [K in RunEventType]: { type: K; data: RunEventData[K] } }[RunEventType];

export interface NodeRun {
  status: NodeStatus;
  /** How many times a loop-back edge sent the run back through this node. */
  iteration: number;
  /** How many times a person retried it (or something it depends on). */
  generation: number;
  taskId: string | null;
  workerId: string | null;
  exitCode: number | null;
  /** Structured output (`AGENTYARD_OUTPUT`), the plan of a director, the winner's output of a select. */
  output: unknown;
  /** Tail of the terminal output. */
  text: string | null;
  /** Why it failed, was skipped or cancelled. */
  reason: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Order in which nodes finished (first-success, ties). */
  finishSeq: number | null;
  winner: string | null;
  /** Approval: when its default applies. */
  deadline: string | null;
  durationMs: number | null;
  history: { taskId: string; iteration: number; generation: number; status: NodeStatus }[];
}

export type EdgeState = 'pending' | 'taken' | 'not-taken';

/** What a plan expansion added, so a loop or a retry through its director can undo it. */
export interface Expansion {
  nodes: string[];
  edges: string[];
  redirected: { edgeId: string; from: string }[];
}

export interface RunState {
  /** False until RunStarted: every other field is a placeholder then. */
  exists: boolean;
  runId: string;
  workflowId: string;
  workflowVersion: number;
  ownerId: string;
  name: string;
  kind: WorkflowKind;
  input: Record<string, unknown>;
  trigger: RunTrigger | null;
  settings: WorkflowSettings;
  graph: RunGraph;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  deadline: string | null;
  error: string | null;
  nodes: Record<string, NodeRun>;
  edges: Record<string, EdgeState>;
  /** Loop-back edge → times taken. */
  loops: Record<string, number>;
  /** Loop-back edges whose condition held after their last iteration, with onExhausted 'fail'. */
  exhausted: string[];
  expansions: Record<string, Expansion>;
  /** Nodes finished so far (NodeRun.finishSeq). */
  finished: number;
  version: number;
  updatedAt: string;
}

export const runStreamId = (runId: string): string => `run-${runId}`;

export function initialState(): RunState {
  return {
    exists: false,
    runId: '',
    workflowId: '',
    workflowVersion: 0,
    ownerId: '',
    name: '',
    kind: 'graph',
    input: {},
    trigger: null,
    settings: { maxParallel: 10 },
    graph: { nodes: [], edges: [] },
    status: 'running',
    startedAt: '',
    finishedAt: null,
    deadline: null,
    error: null,
    nodes: {},
    edges: {},
    loops: {},
    exhausted: [],
    expansions: {},
    finished: 0,
    version: 0,
    updatedAt: '',
  };
}

export function blankNode(iteration = 0, generation = 0, history: NodeRun['history'] = []): NodeRun {
  return {
    status: 'pending',
    iteration,
    generation,
    taskId: null,
    workerId: null,
    exitCode: null,
    output: null,
    text: null,
    reason: null,
    startedAt: null,
    finishedAt: null,
    finishSeq: null,
    winner: null,
    deadline: null,
    durationMs: null,
    history,
  };
}

export const inFlight = (s: NodeStatus): boolean => s === 'scheduled' || s === 'running' || s === 'waiting';
export const nodeFinished = (s: NodeStatus): boolean => s === 'succeeded' || s === 'failed' || s === 'skipped' || s === 'cancelled' || s === 'rejected';
export const runFinished = (s: RunStatus): boolean => s === 'succeeded' || s === 'failed' || s === 'cancelled' || s === 'timed_out';

/** A run event as evolve and the projection see it: parsed by `runEvents`, narrowed by `type`. */
export type RunEnvelope = EventOf<typeof runEvents>;

/** Folds one event into the state (fold skips types runEvents does not hold: forward compatibility). */
export function evolve(state: RunState, event: RunEnvelope): RunState {
  const next = apply(state, event, event.occurredAt);
  return next === state ? state : { ...next, version: event.streamVersion, updatedAt: event.occurredAt };
}

function setNode(s: RunState, id: string, change: (n: NodeRun) => NodeRun): RunState {
  const n = s.nodes[id];
  return n ? { ...s, nodes: { ...s.nodes, [id]: change(n) } } : s;
}

function finish(s: RunState, id: string, change: (n: NodeRun) => Partial<NodeRun>, at: string): RunState {
  const seq = s.finished + 1;
  const next = setNode(s, id, (n) => {
    const done = { ...n, ...change(n), finishedAt: at, finishSeq: seq };
    return { ...done, history: n.history.map((h) => (h.taskId === n.taskId && n.taskId !== null ? { ...h, status: done.status } : h)) };
  });
  return { ...next, finished: seq };
}

/** Resets nodes to pending (results cleared) and the edges leaving them to undecided. */
function resetNodes(s: RunState, ids: readonly string[], bump: 'iteration' | 'generation'): RunState {
  let state = s;
  // A director sent back undoes its expansion: a new plan makes new nodes.
  for (const id of ids) if (state.expansions[id]) state = undoExpansion(state, id);
  const reset = new Set(ids.filter((id) => state.nodes[id]));
  const nodes = { ...state.nodes };
  for (const id of reset) {
    const n = nodes[id]!;
    nodes[id] = blankNode(bump === 'iteration' ? n.iteration + 1 : n.iteration, bump === 'generation' ? n.generation + 1 : n.generation, n.history);
  }
  const edges = { ...state.edges };
  const loops = { ...state.loops };
  for (const e of state.graph.edges) {
    if (!reset.has(e.from)) continue;
    edges[e.id] = 'pending';
    // A retry starts the loops inside what it reruns afresh; a loop going back keeps counting.
    if (bump === 'generation') delete loops[e.id];
  }
  return { ...state, nodes, edges, loops, exhausted: state.exhausted.filter((id) => !reset.has(state.graph.edges.find((e) => e.id === id)?.from ?? '')) };
}

function undoExpansion(s: RunState, directorId: string): RunState {
  const x = s.expansions[directorId]!;
  let state = s;
  // Nested directors first.
  for (const id of x.nodes) if (state.expansions[id]) state = undoExpansion(state, id);
  const gone = new Set(x.nodes);
  const goneEdges = new Set(x.edges);
  const back = new Map(x.redirected.map((r) => [r.edgeId, r.from]));
  const nodes = { ...state.nodes };
  for (const id of gone) delete nodes[id];
  const edges = { ...state.edges };
  for (const id of goneEdges) delete edges[id];
  const expansions = { ...state.expansions };
  delete expansions[directorId];
  return {
    ...state,
    nodes,
    edges,
    expansions,
    graph: {
      nodes: state.graph.nodes.filter((n) => !gone.has(n.id)),
      edges: state.graph.edges.filter((e) => !goneEdges.has(e.id)).map((e) => (back.has(e.id) ? { ...e, from: back.get(e.id)! } : e)),
    },
  };
}

function apply(s: RunState, e: RunEvent, at: string): RunState {
  switch (e.type) {
    case 'RunStarted': {
      const d = e.data;
      return {
        ...s,
        exists: true,
        runId: d.runId,
        workflowId: d.workflowId,
        workflowVersion: d.workflowVersion,
        ownerId: d.ownerId,
        name: d.name,
        kind: d.kind,
        input: d.input,
        trigger: d.trigger,
        settings: d.settings,
        graph: d.graph,
        status: 'running',
        startedAt: at,
        deadline: d.deadline,
        nodes: Object.fromEntries(d.graph.nodes.map((n) => [n.id, blankNode()])),
        edges: Object.fromEntries(d.graph.edges.map((x) => [x.id, 'pending' as const])),
      };
    }
    case 'NodeScheduled': {
      const d = e.data;
      return setNode(s, d.nodeId, (n) => ({
        ...blankNode(d.iteration, d.generation, [...n.history, { taskId: d.taskId, iteration: d.iteration, generation: d.generation, status: 'scheduled' }]),
        status: 'scheduled',
        taskId: d.taskId,
        startedAt: at,
      }));
    }
    case 'NodeStarted': {
      const d = e.data;
      return setNode(s, d.nodeId, (n) =>
        n.taskId === d.taskId
          ? { ...n, status: 'running', workerId: d.workerId, history: n.history.map((h) => (h.taskId === d.taskId ? { ...h, status: 'running' } : h)) }
          : n,
      );
    }
    case 'NodeSucceeded': {
      const d = e.data;
      return finish(
        s,
        d.nodeId,
        () => ({ status: 'succeeded', exitCode: d.exitCode, output: d.output ?? null, text: d.text ?? null, durationMs: d.durationMs }),
        at,
      );
    }
    case 'NodeFailed': {
      const d = e.data;
      return finish(s, d.nodeId, () => ({ status: 'failed', exitCode: d.exitCode, output: d.output ?? null, text: d.text ?? null, reason: d.reason }), at);
    }
    case 'EdgesDecided': {
      const edges = { ...s.edges };
      const exhausted = [...s.exhausted];
      for (const x of e.data.edges) {
        edges[x.edgeId] = x.taken ? 'taken' : 'not-taken';
        const edge = s.graph.edges.find((g) => g.id === x.edgeId);
        if (x.exhausted && edge?.loop?.onExhausted === 'fail' && !exhausted.includes(x.edgeId)) exhausted.push(x.edgeId);
      }
      return { ...s, edges, exhausted };
    }
    case 'NodeSkipped':
      return finish(s, e.data.nodeId, () => ({ status: 'skipped', reason: e.data.reason }), at);
    case 'NodeCancelled':
      return finish(s, e.data.nodeId, () => ({ status: 'cancelled', reason: e.data.reason }), at);
    case 'ApprovalRequested':
      return setNode(s, e.data.nodeId, (n) => ({ ...n, status: 'waiting', startedAt: at, deadline: e.data.deadline }));
    case 'ApprovalDecided': {
      const d = e.data;
      const approved = d.decision === 'approved';
      return finish(
        s,
        d.nodeId,
        () => ({
          status: approved ? 'succeeded' : 'rejected',
          deadline: null,
          output: { approved, byUserId: d.byUserId, comment: d.comment, timedOut: d.byUserId === null },
          reason: approved ? null : d.byUserId === null ? 'rejected: the approval timed out' : 'rejected',
        }),
        at,
      );
    }
    case 'SelectionRequested':
      return setNode(s, e.data.nodeId, (n) => ({ ...n, status: 'waiting', startedAt: n.startedAt ?? at }));
    case 'WinnerChosen': {
      const d = e.data;
      const w = s.nodes[d.winner];
      return finish(
        s,
        d.nodeId,
        () => ({ status: 'succeeded', winner: d.winner, output: w?.output ?? null, text: w?.text ?? null, exitCode: w?.exitCode ?? null, reason: d.reason }),
        at,
      );
    }
    case 'PlanExpanded': {
      const d = e.data;
      const at0 = s.graph.nodes.findIndex((n) => n.id === d.nodeId);
      const nodesList: RunNode[] = [...s.graph.nodes.slice(0, at0 + 1), ...d.nodes, ...s.graph.nodes.slice(at0 + 1)];
      const from = new Map(d.redirected.map((r) => [r.edgeId, r.from]));
      const edgesList: RunEdge[] = [...s.graph.edges.map((x) => (from.has(x.id) ? { ...x, from: from.get(x.id)! } : x)), ...d.edges];
      const original = s.graph.edges.filter((x) => from.has(x.id)).map((x) => ({ edgeId: x.id, from: x.from }));
      const nodes = { ...s.nodes };
      for (const n of d.nodes) nodes[n.id] = blankNode();
      const edges = { ...s.edges };
      for (const x of d.edges) edges[x.id] = 'pending';
      for (const r of d.redirected) edges[r.edgeId] = 'pending';
      return {
        ...s,
        graph: { nodes: nodesList, edges: edgesList },
        nodes,
        edges,
        expansions: { ...s.expansions, [d.nodeId]: { nodes: d.nodes.map((n) => n.id), edges: d.edges.map((x) => x.id), redirected: original } },
      };
    }
    case 'LoopedBack': {
      const next = resetNodes(s, e.data.reset, 'iteration');
      return { ...next, loops: { ...next.loops, [e.data.edgeId]: e.data.count }, edges: { ...next.edges, [e.data.edgeId]: 'pending' } };
    }
    case 'NodesRetried': {
      const next = resetNodes(s, e.data.reset, 'generation');
      return { ...next, status: 'running', finishedAt: null, error: null, deadline: e.data.deadline };
    }
    case 'RunPaused':
      return { ...s, status: 'paused' };
    case 'RunResumed':
      return { ...s, status: 'running' };
    case 'RunCancelled':
      return { ...s, status: 'cancelled', finishedAt: at, error: e.data.reason };
    case 'RunTimedOut':
      return { ...s, status: 'timed_out', finishedAt: at, error: `the run passed its time limit (${e.data.deadline})` };
    case 'RunSucceeded':
      return { ...s, status: 'succeeded', finishedAt: at, error: null };
    case 'RunFailed':
      return { ...s, status: 'failed', finishedAt: at, error: e.data.reason };
    default:
      return s;
  }
}

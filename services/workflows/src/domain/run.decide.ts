/*
 * The run decider: what each command leads to, given the folded run. Pure and deterministic —
 * time, ids and the compiled graph arrive in commands; task ids are derived from (run, node,
 * iteration, generation). Golden histories of each workflow kind are replayed in CI
 * (run.golden.unit.spec.ts), so a change here that would alter a stored run's decisions fails.
 *
 * After every fact the run advances to a fixpoint (`advance`):
 *  1. edges whose source finished are decided (condition, or "source succeeded"); a loop-back
 *     edge whose condition holds sends the run back (its target and everything after it reset,
 *     iteration + 1) while it has iterations left, once nothing after the target is in flight;
 *  2. pending nodes, in topological order, are skipped (their join can no longer be met) or
 *     started (their join is met): a task node is scheduled as a task (the tasks service creates
 *     it from NodeScheduled), an approval waits for a person, a gate succeeds at once, a select
 *     picks a winner — within `maxParallel` tasks in flight, and not while the run is paused;
 *  3. when no node is pending or in flight the run ends: failed if a node failed and nothing
 *     handled it (no outgoing edge taken, no any/k join absorbed it) or a loop ran out with
 *     onExhausted 'fail', succeeded otherwise.
 *
 * Invariants (run.decide.unit.spec.ts):
 *  - FENCING: a task event for a task that is not a node's current task decides nothing;
 *  - IDEMPOTENCE: repeated facts (a redelivered task event, a second pause) decide nothing;
 *  - OWNERSHIP: a person's command on another user's run fails NOT_FOUND.
 */
import { v5 as uuidv5 } from 'uuid';
import {
  DomainError,
  judgeVerdictSchema,
  runEvents,
  toolInputSchemas,
  workflowLimits,
  workflowPlanSchema,
  type NodeTask,
  type RunEdge,
  type RunGraph,
  type RunNode,
  type RunTrigger,
  type WorkflowKind,
  type WorkflowParameter,
  type WorkflowPlan,
  type WorkflowSettings,
} from '@agentyard/contracts';
import type { DecidedEventFor, Decider } from '@agentyard/event-sourcing';
import { edgeId, topologicalOrder } from './compile';
import { canonicalJson, evaluateCondition, renderDeep, renderTemplate, TemplateError, textOf } from './expression.evaluate';
import {
  blankNode,
  evolve,
  inFlight,
  initialState,
  nodeFinished,
  runFinished,
  type NodeRun,
  type RunEnvelope,
  type RunEventData,
  type RunEventType,
  type RunState,
} from './run';

/** An event the run decider emits. */
export type DecidedRunEvent = DecidedEventFor<RunEnvelope>;

export interface Actor {
  userId: string;
}

export type TaskOutcome = 'succeeded' | 'failed' | 'timed_out' | 'cancelled';

export type RunCommand =
  | {
      kind: 'StartRun';
      runId: string;
      workflow: { id: string; version: number; name: string; kind: WorkflowKind; ownerId: string; parameters: WorkflowParameter[]; settings: WorkflowSettings };
      graph: RunGraph;
      input: Record<string, unknown>;
      trigger: RunTrigger;
      now: Date;
    }
  | { kind: 'RecordTaskStarted'; taskId: string; workerId: string; attempt: number; now: Date }
  | {
      kind: 'RecordTaskFinished';
      taskId: string;
      outcome: TaskOutcome;
      exitCode: number | null;
      output: unknown;
      /** The task's terminal output (its tail); the run keeps the last 8 KiB. */
      text: string;
      error: string | null;
      durationMs: number | null;
      now: Date;
    }
  | { kind: 'PauseRun'; actor: Actor; now: Date }
  | { kind: 'ResumeRun'; actor: Actor; now: Date }
  | { kind: 'CancelRun'; actor: Actor; reason?: string; now: Date }
  | { kind: 'RetryNode'; actor: Actor; nodeId: string; now: Date }
  | { kind: 'DecideApproval'; actor: Actor; nodeId: string; decision: 'approve' | 'reject'; comment?: string; now: Date }
  | { kind: 'PickWinner'; actor: Actor; nodeId: string; winner: string; now: Date }
  /** Applies what time decides: approval defaults past their deadline, the run's time limit. */
  | { kind: 'Tick'; now: Date };

/** Fixed namespace for task ids derived from run positions (uuid v5). */
export const TASK_ID_NAMESPACE = '4f6d2d8e-2b1c-5a7e-9f31-6a0c1d2e3f40';

/** The task id of a node's (iteration, generation): the same inputs always give the same id. */
export function nodeTaskId(runId: string, nodeId: string, iteration: number, generation: number): string {
  return uuidv5(`${runId}/${nodeId}/${iteration}/${generation}`, TASK_ID_NAMESPACE);
}

const notFound = () => new DomainError('NOT_FOUND', 'no such run');
const conflict = (message: string, details?: unknown) => new DomainError('CONFLICT', message, details);

/** Collects decided events and keeps a state folded up to them, so later steps see earlier ones. */
class Decision {
  readonly events: DecidedRunEvent[] = [];
  constructor(
    public state: RunState,
    private readonly now: Date,
  ) {}

  emit<T extends RunEventType>(type: T, data: RunEventData[T]): void {
    // The casts only pair the generic T with its payload, which runEvents has just checked.
    const e = { type, data: runEvents.check(type, data) } as DecidedRunEvent;
    this.events.push(e);
    this.state = evolve(this.state, {
      id: '00000000-0000-0000-0000-000000000000',
      type,
      version: 1,
      streamId: `run-${this.state.runId}`,
      streamVersion: this.state.version + 1,
      occurredAt: this.now.toISOString(),
      data: e.data,
      metadata: { correlationId: 'decide', causationId: 'decide' },
    } as RunEnvelope);
  }
}

export function decide(command: RunCommand, state: RunState): DecidedRunEvent[] {
  const d = new Decision(state, command.now);
  switch (command.kind) {
    case 'StartRun':
      start(d, command);
      break;
    case 'RecordTaskStarted': {
      const id = nodeOfTask(state, command.taskId);
      if (id === undefined || state.nodes[id]!.status !== 'scheduled') return [];
      d.emit('NodeStarted', { runId: state.runId, nodeId: id, taskId: command.taskId, workerId: command.workerId, attempt: command.attempt });
      break;
    }
    case 'RecordTaskFinished': {
      const id = nodeOfTask(state, command.taskId);
      if (id === undefined || !['scheduled', 'running'].includes(state.nodes[id]!.status)) return [];
      taskFinished(d, id, command);
      break;
    }
    case 'PauseRun': {
      const s = own(state, command.actor);
      if (s.status === 'paused') return [];
      if (s.status !== 'running') throw conflict(`cannot pause a run that is ${s.status}`, { status: s.status });
      d.emit('RunPaused', { runId: s.runId, byUserId: command.actor.userId });
      return d.events;
    }
    case 'ResumeRun': {
      const s = own(state, command.actor);
      if (s.status === 'running') return [];
      if (s.status !== 'paused') throw conflict(`cannot resume a run that is ${s.status}`, { status: s.status });
      d.emit('RunResumed', { runId: s.runId, byUserId: command.actor.userId });
      break;
    }
    case 'CancelRun': {
      const s = own(state, command.actor);
      if (runFinished(s.status)) throw conflict(`cannot cancel a run that is ${s.status}`, { status: s.status });
      const reason = command.reason ?? 'cancelled by its owner';
      cancelInFlight(d, reason);
      d.emit('RunCancelled', { runId: s.runId, byUserId: command.actor.userId, reason });
      return d.events;
    }
    case 'RetryNode':
      retry(d, command);
      break;
    case 'DecideApproval': {
      const s = own(state, command.actor);
      const n = nodeOf(s, command.nodeId);
      const def = s.graph.nodes.find((x) => x.id === command.nodeId)!;
      if (def.type !== 'approval') throw conflict(`node ${command.nodeId} is not an approval node`);
      if (n.status !== 'waiting') throw conflict(`node ${command.nodeId} is not waiting for approval (it is ${n.status})`, { status: n.status });
      d.emit('ApprovalDecided', {
        runId: s.runId,
        nodeId: command.nodeId,
        iteration: n.iteration,
        decision: command.decision === 'approve' ? 'approved' : 'rejected',
        byUserId: command.actor.userId,
        comment: command.comment ?? null,
      });
      break;
    }
    case 'PickWinner': {
      const s = own(state, command.actor);
      const n = nodeOf(s, command.nodeId);
      const def = s.graph.nodes.find((x) => x.id === command.nodeId)!;
      if (def.type !== 'select') throw conflict(`node ${command.nodeId} is not a select node`);
      if (n.status !== 'waiting') throw conflict(`node ${command.nodeId} is not waiting for a choice (it is ${n.status})`, { status: n.status });
      const candidates = succeededCandidates(s, def);
      if (!candidates.includes(command.winner))
        throw new DomainError('VALIDATION_FAILED', `${command.winner} is not a candidate that succeeded; choose one of ${candidates.join(', ')}`, [
          { field: 'winner', message: `choose one of ${candidates.join(', ')}` },
        ]);
      d.emit('WinnerChosen', {
        runId: s.runId,
        nodeId: command.nodeId,
        iteration: n.iteration,
        winner: command.winner,
        strategy: 'manual',
        byUserId: command.actor.userId,
        reason: 'chosen by hand',
      });
      break;
    }
    case 'Tick':
      if (!state.exists || runFinished(state.status)) return [];
      tick(d, command.now);
      if (runFinished(d.state.status)) return d.events;
      break;
    default: {
      const never: never = command;
      throw new Error(`unhandled run command ${JSON.stringify(never)}`);
    }
  }
  advance(d, command.now);
  return d.events;
}

function own(state: RunState, actor: Actor): RunState {
  if (!state.exists || state.ownerId !== actor.userId) throw notFound();
  return state;
}

function nodeOf(s: RunState, nodeId: string): NodeRun {
  const n = s.nodes[nodeId];
  if (!n) throw new DomainError('NOT_FOUND', `run ${s.runId} has no node ${nodeId}`);
  return n;
}

function nodeOfTask(s: RunState, taskId: string): string | undefined {
  if (!s.exists) return undefined;
  for (const [id, n] of Object.entries(s.nodes)) if (n.taskId === taskId) return id;
  return undefined;
}

// --- start ------------------------------------------------------------------------------------

function start(d: Decision, c: Extract<RunCommand, { kind: 'StartRun' }>): void {
  if (d.state.exists) throw conflict('this run has started already');
  const input = runInput(c.workflow.parameters, c.input);
  const timeout = c.workflow.settings.timeoutSeconds;
  d.emit('RunStarted', {
    runId: c.runId,
    workflowId: c.workflow.id,
    workflowVersion: c.workflow.version,
    ownerId: c.workflow.ownerId,
    name: c.workflow.name,
    kind: c.workflow.kind,
    input,
    graph: c.graph,
    settings: c.workflow.settings,
    trigger: c.trigger,
    deadline: timeout ? new Date(c.now.getTime() + timeout * 1000).toISOString() : null,
  });
}

/** The run's input: declared parameters only, required ones present, defaults applied. */
export function runInput(parameters: readonly WorkflowParameter[], given: Record<string, unknown>): Record<string, unknown> {
  const issues: { field: string; message: string }[] = [];
  const names = new Set(parameters.map((p) => p.name));
  for (const key of Object.keys(given))
    if (!names.has(key))
      issues.push({ field: `input.${key}`, message: `${key} is not a parameter of this workflow (${[...names].join(', ') || 'it has none'})` });
  const input: Record<string, unknown> = {};
  for (const p of parameters) {
    if (Object.prototype.hasOwnProperty.call(given, p.name)) input[p.name] = given[p.name];
    else if (p.default !== undefined) input[p.name] = p.default;
    else if (p.required) issues.push({ field: `input.${p.name}`, message: `${p.name} is required` });
  }
  if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', `invalid run input: ${issues.map((i) => i.message).join('; ')}`, issues);
  return input;
}

// --- task results -----------------------------------------------------------------------------

/** The last textBytesMax bytes of UTF-8 (not characters: a CJK or emoji tail is 3–4 × longer), cut on a character boundary. */
const textTail = (text: string): string => {
  const max = workflowLimits.textBytesMax;
  if (text.length * 3 <= max) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  let start = bytes.length - max;
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++; // a continuation byte: step to the next character
  return bytes.subarray(start).toString('utf8');
};

function taskFinished(d: Decision, nodeId: string, c: Extract<RunCommand, { kind: 'RecordTaskFinished' }>): void {
  const s = d.state;
  const n = s.nodes[nodeId]!;
  const def = s.graph.nodes.find((x) => x.id === nodeId)!;
  const base = { runId: s.runId, nodeId, iteration: n.iteration, taskId: c.taskId, exitCode: c.exitCode, text: textTail(c.text) };
  const output = c.output === undefined ? {} : { output: c.output };
  if (c.outcome !== 'succeeded') {
    const reason =
      c.error ??
      (c.outcome === 'timed_out'
        ? 'its task timed out'
        : c.outcome === 'cancelled'
          ? 'its task was cancelled'
          : c.exitCode !== null
            ? `exited with code ${c.exitCode}`
            : 'its task failed');
    d.emit('NodeFailed', { ...base, ...output, reason });
    return;
  }
  if (def.type !== 'director') {
    d.emit('NodeSucceeded', { ...base, ...output, durationMs: c.durationMs });
    return;
  }
  const plan = checkPlan(s, def, c.output);
  if (typeof plan === 'string') {
    d.emit('NodeFailed', { ...base, ...output, reason: plan });
    return;
  }
  d.emit('NodeSucceeded', { ...base, output: plan, durationMs: c.durationMs });
  expandPlan(d, def, plan);
}

/** The director's output as a plan, or a message saying what is wrong with it. */
function checkPlan(s: RunState, def: RunNode, output: unknown): WorkflowPlan | string {
  if (output === undefined || output === null) return 'the director wrote no plan: it must write a plan as JSON to the file named by $AGENTYARD_OUTPUT';
  const parsed = workflowPlanSchema.safeParse(output);
  if (!parsed.success)
    return `the plan does not match the schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(plan)'}: ${i.message}`).join('; ')}`;
  const plan = parsed.data;
  const settings = def.plan!;
  if (plan.steps.length > settings.maxSteps) return `the plan has ${plan.steps.length} steps, more than the ${settings.maxSteps} allowed (plan.maxSteps)`;
  const ids = new Set<string>();
  for (const step of plan.steps) {
    if (ids.has(step.id)) return `the plan names step ${step.id} twice`;
    ids.add(step.id);
  }
  for (const step of plan.steps) {
    for (const dep of step.dependsOn) if (!ids.has(dep)) return `step ${step.id} depends on ${dep}, which is not a step of the plan`;
    if (step.director && def.depth + 1 >= settings.maxDepth)
      return `step ${step.id} plans again, but the plan is already ${def.depth + 1} deep (plan.maxDepth ${settings.maxDepth})`;
    if (!step.tool && !settings.step) return `step ${step.id} names no tool and the director's plan settings give no step task`;
    if (step.tool) {
      const input = toolInputSchemas[step.tool].safeParse(step.input ?? {});
      if (!input.success)
        return `step ${step.id}: its input is invalid for ${step.tool}: ${input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
    }
  }
  const { cyclic } = topologicalOrder(
    plan.steps.map((x) => x.id),
    plan.steps.flatMap((x) => x.dependsOn.map((dep) => ({ from: dep, to: x.id }))),
  );
  if (cyclic.length > 0) return `the plan's dependsOn form a cycle (through step ${cyclic[0]!.to})`;
  const extra = plan.steps.length + 1 + (settings.review ? 1 : 0);
  if (s.graph.nodes.length + extra > workflowLimits.runNodesMax) return `the plan would grow the run past ${workflowLimits.runNodesMax} nodes`;
  for (const step of plan.steps) if (s.nodes[`${def.id}_${step.id}`]) return `step ${step.id} would be node ${def.id}_${step.id}, which already exists`;
  for (const suffix of ['done', 'review']) if (s.nodes[`${def.id}_${suffix}`]) return `the plan's ${suffix} node ${def.id}_${suffix} already exists`;
  return plan;
}

/** The plan's steps become nodes after the director; the director's successors wait for them all. */
function expandPlan(d: Decision, def: RunNode, plan: WorkflowPlan): void {
  const settings = def.plan!;
  const id = (stepId: string) => `${def.id}_${stepId}`;
  const order = topologicalOrder(
    plan.steps.map((x) => x.id),
    plan.steps.flatMap((x) => x.dependsOn.map((dep) => ({ from: dep, to: x.id }))),
  ).order;
  const byId = new Map(plan.steps.map((x) => [x.id, x]));
  const nodes: RunNode[] = order.map((stepId) => {
    const step = byId.get(stepId)!;
    const task = step.tool ? { description: step.description, tool: step.tool, input: step.input ?? {} } : settings.step!;
    return {
      id: id(step.id),
      label: step.description.slice(0, 200),
      type: step.director ? 'director' : 'task',
      join: 'all',
      task,
      ...(step.director ? { plan: settings } : {}),
      depth: def.depth + 1,
      parent: def.id,
      step,
    };
  });
  const edge = (from: string, to: string): RunEdge => ({ id: edgeId(from, to), from, to });
  const edges: RunEdge[] = [];
  for (const stepId of order) {
    const step = byId.get(stepId)!;
    if (step.dependsOn.length === 0) edges.push(edge(def.id, id(step.id)));
    for (const dep of step.dependsOn) edges.push(edge(id(dep), id(step.id)));
  }
  const gate: RunNode = { id: id('done'), label: `${def.label ?? def.id}: all steps`, type: 'gate', join: 'all', depth: def.depth + 1, parent: def.id };
  nodes.push(gate);
  for (const stepId of order) edges.push(edge(id(stepId), gate.id));
  let exit = gate.id;
  if (settings.review) {
    nodes.push({
      id: id('review'),
      label: `${def.label ?? def.id}: review`,
      type: 'task',
      join: 'all',
      task: settings.review,
      depth: def.depth + 1,
      parent: def.id,
    });
    edges.push(edge(gate.id, id('review')));
    exit = id('review');
  }
  const redirected = d.state.graph.edges.filter((e) => e.from === def.id).map((e) => ({ edgeId: e.id, from: exit }));
  d.emit('PlanExpanded', { runId: d.state.runId, nodeId: def.id, nodes, edges, redirected });
}

// --- person commands --------------------------------------------------------------------------

function retry(d: Decision, c: Extract<RunCommand, { kind: 'RetryNode' }>): void {
  const s = own(d.state, c.actor);
  const n = nodeOf(s, c.nodeId);
  if (!['failed', 'cancelled'].includes(n.status))
    throw conflict(`only a failed or cancelled node can be retried; ${c.nodeId} is ${n.status}`, { status: n.status });
  if (s.status === 'paused') throw conflict('resume the run before retrying a node');
  const reset = [c.nodeId, ...descendants(s.graph, c.nodeId)];
  const busy = reset.filter((id) => inFlight(s.nodes[id]?.status ?? 'pending'));
  if (busy.length > 0) throw conflict(`node ${busy[0]} depends on ${c.nodeId} and is still ${s.nodes[busy[0]!]!.status}; wait for it or cancel the run first`);
  const timeout = s.settings.timeoutSeconds;
  d.emit('NodesRetried', {
    runId: s.runId,
    nodeId: c.nodeId,
    reset,
    byUserId: c.actor.userId,
    // A run that ran out of time gets its whole limit again from now.
    deadline: timeout ? new Date(c.now.getTime() + timeout * 1000).toISOString() : null,
  });
}

function tick(d: Decision, now: Date): void {
  const s = d.state;
  if (s.deadline !== null && Date.parse(s.deadline) <= now.getTime()) {
    cancelInFlight(d, 'the run passed its time limit');
    d.emit('RunTimedOut', { runId: s.runId, deadline: s.deadline });
    return;
  }
  for (const node of s.graph.nodes) {
    const n = d.state.nodes[node.id]!;
    if (node.type === 'approval' && n.status === 'waiting' && n.deadline !== null && Date.parse(n.deadline) <= now.getTime()) {
      d.emit('ApprovalDecided', {
        runId: s.runId,
        nodeId: node.id,
        iteration: n.iteration,
        decision: node.approval!.onTimeout === 'approve' ? 'approved' : 'rejected',
        byUserId: null,
        comment: null,
      });
    }
  }
}

/** The earliest instant a Tick could change this run (approval deadlines, run deadline), or null. */
export function nextDeadline(s: RunState): string | null {
  if (!s.exists || runFinished(s.status)) return null;
  const times = [s.deadline, ...Object.values(s.nodes).map((n) => (n.status === 'waiting' ? n.deadline : null))].filter((t): t is string => t !== null);
  return times.length === 0 ? null : times.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b));
}

function cancelInFlight(d: Decision, reason: string, only?: (id: string) => boolean): void {
  for (const node of d.state.graph.nodes) {
    const n = d.state.nodes[node.id]!;
    if (!inFlight(n.status) || (only && !only(node.id))) continue;
    d.emit('NodeCancelled', { runId: d.state.runId, nodeId: node.id, iteration: n.iteration, taskId: n.taskId, ownerId: d.state.ownerId, reason });
  }
}

// --- advance ----------------------------------------------------------------------------------

/** Graph lookups, computed once per graph object. */
interface Index {
  incoming: Map<string, RunEdge[]>;
  outgoing: Map<string, RunEdge[]>;
  byId: Map<string, RunNode>;
}
const indexes = new WeakMap<RunGraph, Index>();
function indexOf(graph: RunGraph): Index {
  let index = indexes.get(graph);
  if (!index) {
    const incoming = new Map<string, RunEdge[]>();
    const outgoing = new Map<string, RunEdge[]>();
    for (const e of graph.edges) {
      if (!e.loop) incoming.set(e.to, [...(incoming.get(e.to) ?? []), e]);
      outgoing.set(e.from, [...(outgoing.get(e.from) ?? []), e]);
    }
    index = { incoming, outgoing, byId: new Map(graph.nodes.map((n) => [n.id, n])) };
    indexes.set(graph, index);
  }
  return index;
}

/** Nodes reachable from `id` along forward edges (not `id` itself). */
export function descendants(graph: RunGraph, id: string): string[] {
  const { outgoing } = indexOf(graph);
  const seen = new Set<string>();
  const stack = [id];
  while (stack.length > 0) {
    for (const e of outgoing.get(stack.pop()!) ?? []) {
      if (e.loop || seen.has(e.to)) continue;
      seen.add(e.to);
      stack.push(e.to);
    }
  }
  // In graph order, so reset lists read naturally.
  return graph.nodes.map((n) => n.id).filter((n) => seen.has(n));
}

/** What an expression or template of a node can read. */
function contextFor(s: RunState, node?: RunNode): Record<string, unknown> {
  const ctx: Record<string, unknown> = {
    run: { id: s.runId, input: s.input, workflowId: s.workflowId, workflowVersion: s.workflowVersion, name: s.name, startedAt: s.startedAt },
    nodes: nodesView(s.nodes),
  };
  if (node) {
    const n = s.nodes[node.id]!;
    ctx.node = { id: node.id, iteration: n.iteration, generation: n.generation, label: node.label ?? node.id };
    const inputs: Record<string, unknown> = {};
    for (const e of indexOf(s.graph).incoming.get(node.id) ?? []) {
      const from = s.nodes[e.from]!;
      if (nodeFinished(from.status)) inputs[e.from] = nodeData(from);
    }
    ctx.inputs = inputs;
    if (node.step) ctx.step = node.step;
  }
  return ctx;
}

/**
 * `nodes` as templates and conditions read it, each node's data made when first read: rendering
 * one task of a 1,000-node fan-out must not copy all 1,000 nodes (it did, for every node). To
 * the evaluator (own properties only, Object.keys) it is a plain read-only object.
 */
function nodesView(nodes: RunState['nodes']): Record<string, unknown> {
  const made = new Map<string, Record<string, unknown>>();
  const own = (key: string | symbol): key is string => typeof key === 'string' && Object.prototype.hasOwnProperty.call(nodes, key);
  const data = (id: string) => {
    let d = made.get(id);
    if (!d) made.set(id, (d = nodeData(nodes[id]!)));
    return d;
  };
  return new Proxy<Record<string, unknown>>(
    {},
    {
      get: (_, key) => (own(key) ? data(key) : undefined),
      has: (_, key) => own(key),
      ownKeys: () => Object.keys(nodes),
      getOwnPropertyDescriptor: (_, key) => (own(key) ? { value: data(key), writable: false, enumerable: true, configurable: true } : undefined),
      set: () => false,
      defineProperty: () => false,
      deleteProperty: () => false,
    },
  );
}

function nodeData(n: NodeRun): Record<string, unknown> {
  return { status: n.status, exitCode: n.exitCode, output: n.output ?? null, text: n.text ?? '', taskId: n.taskId, iteration: n.iteration, winner: n.winner };
}

/** Whether an edge is taken once its source finished. */
function edgeTaken(s: RunState, e: RunEdge): boolean {
  if (e.condition === undefined) return s.nodes[e.from]!.status === 'succeeded';
  return evaluateCondition(e.condition, contextFor(s));
}

function advance(d: Decision, now: Date): void {
  for (let guard = 0; guard < 100_000; guard++) {
    const s = d.state;
    if (!s.exists || s.status !== 'running') return;
    if (decideEdges(d)) continue;
    if (loopBack(d)) continue;
    if (stepNodes(d, now)) continue;
    complete(d);
    return;
  }
  throw new Error('advance did not settle');
}

/** Decides forward edges whose source finished. */
function decideEdges(d: Decision): boolean {
  const s = d.state;
  const decided: { edgeId: string; taken: boolean }[] = [];
  for (const e of s.graph.edges) {
    if (e.loop || s.edges[e.id] !== 'pending' || !nodeFinished(s.nodes[e.from]!.status)) continue;
    decided.push({ edgeId: e.id, taken: edgeTaken(s, e) });
  }
  if (decided.length === 0) return false;
  d.emit('EdgesDecided', { runId: s.runId, edges: decided });
  return true;
}

/** Decides loop-back edges whose source finished: back to the target, or not taken, or exhausted. */
function loopBack(d: Decision): boolean {
  const s = d.state;
  for (const e of s.graph.edges) {
    if (!e.loop || s.edges[e.id] !== 'pending' || !nodeFinished(s.nodes[e.from]!.status)) continue;
    if (!edgeTaken(s, e)) {
      d.emit('EdgesDecided', { runId: s.runId, edges: [{ edgeId: e.id, taken: false }] });
      return true;
    }
    const count = s.loops[e.id] ?? 0;
    if (count >= e.loop.maxIterations) {
      d.emit('EdgesDecided', { runId: s.runId, edges: [{ edgeId: e.id, taken: false, exhausted: true }] });
      return true;
    }
    const reset = [e.to, ...descendants(s.graph, e.to)];
    // Going back while part of the loop's body still runs would orphan that work: wait for it.
    if (reset.some((id) => inFlight(s.nodes[id]!.status))) continue;
    d.emit('LoopedBack', { runId: s.runId, edgeId: e.id, count: count + 1, reset });
    return true;
  }
  return false;
}

/** Skips or starts pending nodes whose joins are decided. */
function stepNodes(d: Decision, now: Date): boolean {
  const s = d.state;
  const { incoming } = indexOf(s.graph);
  let running = s.graph.nodes.filter((n) => (n.type === 'task' || n.type === 'director') && ['scheduled', 'running'].includes(s.nodes[n.id]!.status)).length;
  let changed = false;
  for (const node of s.graph.nodes) {
    const n = d.state.nodes[node.id];
    if (!n || n.status !== 'pending') continue;
    const edges = incoming.get(node.id) ?? [];
    const taken = edges.filter((e) => d.state.edges[e.id] === 'taken').length;
    const pending = edges.filter((e) => d.state.edges[e.id] === 'pending').length;
    const verdict = joinVerdict(node, edges.length, taken, pending);
    if (verdict === 'wait') continue;
    if (verdict === 'skip') {
      const notTaken = edges.filter((e) => d.state.edges[e.id] === 'not-taken').map((e) => `${e.from}→${e.to}`);
      d.emit('NodeSkipped', {
        runId: s.runId,
        nodeId: node.id,
        iteration: n.iteration,
        reason: `its join (${joinText(node)}) cannot be met: not taken ${notTaken.join(', ')}`,
      });
      changed = true;
      continue;
    }
    const isTask = node.type === 'task' || node.type === 'director';
    if (isTask && running >= s.settings.maxParallel) continue;
    if (node.cancelRemaining && node.join !== 'all' && node.join !== 'done') dropStragglers(d, node, edges);
    startNode(d, node, now);
    if (isTask) running++;
    changed = true;
  }
  return changed;
}

/**
 * An any/k join that is met no longer needs the predecessors still on their way: those in flight
 * are cancelled, those not started yet (held back by maxParallel) are skipped — unless another
 * node still waits for them.
 */
function dropStragglers(d: Decision, node: RunNode, edges: RunEdge[]): void {
  const { outgoing } = indexOf(d.state.graph);
  const reason = `not needed: ${node.id} already has what it waits for`;
  for (const e of edges) {
    if (d.state.edges[e.id] !== 'pending') continue;
    const others = (outgoing.get(e.from) ?? []).filter((x) => !x.loop && x.to !== node.id);
    if (others.length > 0) continue;
    const n = d.state.nodes[e.from]!;
    if (inFlight(n.status))
      d.emit('NodeCancelled', { runId: d.state.runId, nodeId: e.from, iteration: n.iteration, taskId: n.taskId, ownerId: d.state.ownerId, reason });
    else if (n.status === 'pending') d.emit('NodeSkipped', { runId: d.state.runId, nodeId: e.from, iteration: n.iteration, reason });
  }
}

function joinText(node: RunNode): string {
  return typeof node.join === 'object' ? `${node.join.k} of its incoming edges` : node.join;
}

/** ready: start it; skip: it can never start; wait: not decided yet. */
function joinVerdict(node: RunNode, total: number, taken: number, pending: number): 'ready' | 'skip' | 'wait' {
  if (total === 0) return 'ready';
  const j = node.join;
  if (j === 'all') return taken === total ? 'ready' : taken + pending < total ? 'skip' : 'wait';
  if (j === 'any') return taken >= 1 ? 'ready' : pending === 0 ? 'skip' : 'wait';
  if (j === 'done') return pending > 0 ? 'wait' : taken >= 1 ? 'ready' : 'skip';
  return taken >= j.k ? 'ready' : taken + pending < j.k ? 'skip' : 'wait';
}

function startNode(d: Decision, node: RunNode, now: Date): void {
  const s = d.state;
  const n = s.nodes[node.id]!;
  switch (node.type) {
    case 'task':
    case 'director': {
      const task = renderTask(s, node);
      if (typeof task === 'string') {
        d.emit('NodeFailed', { runId: s.runId, nodeId: node.id, iteration: n.iteration, taskId: null, exitCode: null, reason: task });
        return;
      }
      d.emit('NodeScheduled', {
        runId: s.runId,
        nodeId: node.id,
        iteration: n.iteration,
        generation: n.generation,
        taskId: nodeTaskId(s.runId, node.id, n.iteration, n.generation),
        ownerId: s.ownerId,
        task,
      });
      return;
    }
    case 'approval': {
      let message: string | null = null;
      if (node.approval?.message) {
        try {
          message = textOf(renderTemplate(node.approval.message, contextFor(s, node)));
        } catch (error) {
          message = `(the message could not be rendered: ${(error as Error).message})`;
        }
      }
      d.emit('ApprovalRequested', {
        runId: s.runId,
        nodeId: node.id,
        iteration: n.iteration,
        message,
        deadline: new Date(now.getTime() + node.approval!.timeoutSeconds * 1000).toISOString(),
        onTimeout: node.approval!.onTimeout,
      });
      return;
    }
    case 'gate': {
      const output: Record<string, unknown> = {};
      for (const e of indexOf(s.graph).incoming.get(node.id) ?? []) if (s.edges[e.id] === 'taken') output[e.from] = s.nodes[e.from]!.output ?? null;
      d.emit('NodeSucceeded', { runId: s.runId, nodeId: node.id, iteration: n.iteration, taskId: null, exitCode: null, output, durationMs: 0 });
      return;
    }
    case 'select':
      select(d, node);
      return;
  }
}

/** The node's task with its templates rendered and its input checked, or why it cannot run. */
function renderTask(s: RunState, node: RunNode): NodeTask | string {
  const spec = node.task!;
  const ctx = contextFor(s, node);
  let input: unknown;
  let description: string;
  try {
    input = renderDeep(spec.input, ctx);
    description = spec.description ? textOf(renderTemplate(spec.description, ctx)) : `${s.name}: ${node.label ?? node.id}`;
  } catch (error) {
    if (error instanceof TemplateError || (error as Error).name === 'ExpressionError') return `could not render the task: ${(error as Error).message}`;
    throw error;
  }
  const checked = toolInputSchemas[spec.tool].safeParse(input);
  if (!checked.success)
    return `the rendered input is invalid for ${spec.tool}: ${checked.error.issues.map((i) => `input.${i.path.join('.')}: ${i.message}`).join('; ')}`;
  const requirements = { ...(spec.requirements ?? {}), ...(node.antiAffinity ? { antiAffinity: `${s.runId}:${node.antiAffinity}` } : {}) };
  return {
    description: description.slice(0, 10_000) || node.id,
    tool: spec.tool,
    input: checked.data as Record<string, unknown>,
    priority: spec.priority ?? 50,
    timeoutSeconds: spec.timeoutSeconds ?? 3600,
    maxAttempts: spec.maxAttempts ?? 3,
    requirements,
  };
}

/** Predecessors of a select that are candidates (its judge is not one). */
function candidatesOf(s: RunState, node: RunNode): string[] {
  return (indexOf(s.graph).incoming.get(node.id) ?? []).map((e) => e.from).filter((id) => id !== node.select?.judge);
}

function succeededCandidates(s: RunState, node: RunNode): string[] {
  return candidatesOf(s, node).filter((id) => s.nodes[id]!.status === 'succeeded');
}

function select(d: Decision, node: RunNode): void {
  const s = d.state;
  const n = s.nodes[node.id]!;
  const strategy = node.select!.strategy;
  const ok = succeededCandidates(s, node).sort((a, b) => (s.nodes[a]!.finishSeq ?? 0) - (s.nodes[b]!.finishSeq ?? 0));
  const fail = (reason: string) => d.emit('NodeFailed', { runId: s.runId, nodeId: node.id, iteration: n.iteration, taskId: null, exitCode: null, reason });
  const choose = (winner: string, reason: string) =>
    d.emit('WinnerChosen', { runId: s.runId, nodeId: node.id, iteration: n.iteration, winner, strategy, byUserId: null, reason });
  if (ok.length === 0) return fail('no candidate succeeded');
  switch (strategy) {
    case 'first-success':
      return choose(ok[0]!, `${ok[0]} succeeded first`);
    case 'shortest': {
      const size = (id: string) => {
        const c = s.nodes[id]!;
        return c.output !== null && c.output !== undefined ? JSON.stringify(c.output).length : (c.text ?? '').length;
      };
      const winner = ok.reduce((best, id) => (size(id) < size(best) ? id : best));
      return choose(winner, `${winner} gave the shortest output (${size(winner)} characters) of ${ok.length} successful candidates`);
    }
    case 'vote': {
      const path = node.select!.voteOn;
      const ballot = (id: string) => canonicalJson(path ? pick(s.nodes[id]!.output, path) : s.nodes[id]!.output);
      const counts = new Map<string, number>();
      for (const id of ok) counts.set(ballot(id), (counts.get(ballot(id)) ?? 0) + 1);
      // Most votes; a tie goes to the value the earliest finisher gave.
      const winner = ok.reduce((best, id) => ((counts.get(ballot(id)) ?? 0) > (counts.get(ballot(best)) ?? 0) ? id : best));
      return choose(winner, `${counts.get(ballot(winner))} of ${ok.length} candidates agree${path ? ` on ${path}` : ''}`);
    }
    case 'judge': {
      const judge = s.nodes[node.select!.judge!];
      if (!judge || judge.status !== 'succeeded') return fail(`the judge ${node.select!.judge} did not succeed${judge?.reason ? `: ${judge.reason}` : ''}`);
      const verdict = judgeVerdictSchema.safeParse(judge.output);
      if (!verdict.success) return fail(`the judge's output must be {"winner": "<candidate id>"}: ${verdict.error.issues.map((i) => i.message).join('; ')}`);
      const named = verdict.data.winner;
      const winner = ok.find((id) => id === named || s.graph.nodes.find((x) => x.id === id)?.label === named);
      if (!winner) return fail(`the judge chose ${named}, which is not a candidate that succeeded (${ok.join(', ')})`);
      return choose(winner, verdict.data.reason ? `the judge chose it: ${verdict.data.reason}` : 'the judge chose it');
    }
    case 'manual':
      d.emit('SelectionRequested', { runId: s.runId, nodeId: node.id, iteration: n.iteration, candidates: ok });
      return;
  }
}

/** A dotted path (`a.b[0].c`) into a JSON value; null when it leads nowhere. */
function pick(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const part of path.split(/[.[\]]/).filter(Boolean)) {
    if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
    else if (cur !== null && typeof cur === 'object' && Object.prototype.hasOwnProperty.call(cur, part)) cur = (cur as Record<string, unknown>)[part];
    else return null;
  }
  return cur ?? null;
}

/** Ends the run when nothing is pending or in flight. */
function complete(d: Decision): void {
  const s = d.state;
  if (Object.values(s.nodes).some((n) => !nodeFinished(n.status))) return;
  const failed = unhandledFailures(s);
  if (failed.length > 0 || s.exhausted.length > 0) {
    const first = failed[0];
    const reason = first
      ? `node ${first} failed: ${s.nodes[first]!.reason ?? 'failed'}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}`
      : `loop-back edge ${s.exhausted[0]} ran all ${s.graph.edges.find((e) => e.id === s.exhausted[0])?.loop?.maxIterations} iterations and its condition still held`;
    d.emit('RunFailed', { runId: s.runId, reason, failedNodes: failed });
    return;
  }
  d.emit('RunSucceeded', { runId: s.runId });
}

/** Failed nodes nothing took care of: no outgoing edge taken, and no any/done/k join absorbed them. */
function unhandledFailures(s: RunState): string[] {
  const { outgoing, byId } = indexOf(s.graph);
  return s.graph.nodes
    .filter((node) => s.nodes[node.id]!.status === 'failed')
    .filter((node) => {
      const out = outgoing.get(node.id) ?? [];
      if (out.some((e) => s.edges[e.id] === 'taken')) return false;
      const forward = out.filter((e) => !e.loop);
      const absorbed = forward.length > 0 && forward.every((e) => byId.get(e.to)!.join !== 'all' && s.nodes[e.to]!.status !== 'skipped');
      return !absorbed;
    })
    .map((node) => node.id);
}

/** The run decider as @agentyard/event-sourcing runs it. */
export const runDecider: Decider<RunState, RunCommand, RunEnvelope> = { initialState, evolve, decide, events: runEvents };

// Re-exported for tests and the read model.
export { blankNode };

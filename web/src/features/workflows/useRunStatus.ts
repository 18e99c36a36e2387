/*
 * What the run view shows, computed from the run (runs store): each node's card data with its
 * live status, the counts per status, what a person may do to a node now, and the select nodes
 * whose candidates can be compared (Mixture). Display state only; the run itself is the store's.
 * Tested in useRunStatus.unit.spec.ts.
 */
import { computed, type Ref } from 'vue';
import type { NodeStatus, Run, RunGraphNode, RunNodeState, RunStatus } from '@/api/client';
import type { FlowNodeData } from './nodes/node-data';
import { joinLabel, nodeSummary } from './workflow-draft';

export const nodeStatusOrder: readonly NodeStatus[] = ['pending', 'scheduled', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled', 'rejected'];
const finishedRun: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];

export interface Candidate {
  nodeId: string;
  label: string;
  state: RunNodeState | null;
  chosen: boolean;
}

export interface Comparison {
  selectId: string;
  strategy: string;
  status: NodeStatus;
  winner: string | null;
  reason: string | null;
  /** A person picks (manual strategy, waiting). */
  pickable: boolean;
  candidates: Candidate[];
}

/** The card of one runtime node. */
export function nodeData(node: RunGraphNode, state: RunNodeState | undefined): FlowNodeData {
  const base = node.type === 'select' ? { strategy: node.select?.strategy } : node.type === 'approval' ? { ...node.approval } : {};
  return {
    nodeId: node.id,
    type: node.type,
    label: node.label || node.id,
    summary: nodeSummary({ type: node.type, task: node.task, ...base }),
    join: joinLabel(node.join),
    status: state?.status ?? 'pending',
    iteration: state?.iteration ?? 0,
    planned: node.depth > 0,
  };
}

/** Compares the candidates of each select node (a Mixture's aggregator, or any select in a graph). */
export function comparisons(run: Run): Comparison[] {
  const out: Comparison[] = [];
  for (const node of run.graph.nodes) {
    if (node.type !== 'select') continue;
    const state = run.nodes[node.id];
    const judge = node.select?.judge;
    const sources = run.graph.edges.filter((e) => e.to === node.id && !e.loop && e.from !== judge).map((e) => e.from);
    const labelOf = (id: string) => run.graph.nodes.find((n) => n.id === id)?.label || id;
    out.push({
      selectId: node.id,
      strategy: node.select?.strategy ?? 'first-success',
      status: state?.status ?? 'pending',
      winner: state?.winner ?? null,
      reason: state?.reason ?? null,
      pickable: state?.status === 'waiting' && node.select?.strategy === 'manual' && !finishedRun.includes(run.status),
      candidates: sources.map((id) => ({ nodeId: id, label: labelOf(id), state: run.nodes[id] ?? null, chosen: state?.winner === id })),
    });
  }
  return out;
}

export function useRunStatus(run: Ref<Run | null>) {
  const active = computed(() => !!run.value && !finishedRun.includes(run.value.status));
  const flowData = computed<Record<string, FlowNodeData>>(() => {
    const r = run.value;
    if (!r) return {};
    return Object.fromEntries(r.graph.nodes.map((n) => [n.id, nodeData(n, r.nodes[n.id])]));
  });
  const counts = computed(() => {
    const c: Partial<Record<NodeStatus, number>> = {};
    for (const s of Object.values(run.value?.nodes ?? {})) c[s.status] = (c[s.status] ?? 0) + 1;
    return nodeStatusOrder.filter((s) => c[s]).map((s) => ({ status: s, count: c[s]! }));
  });
  const mixture = computed(() => (run.value ? comparisons(run.value) : []));

  function stateOf(nodeId: string): RunNodeState | null {
    return run.value?.nodes[nodeId] ?? null;
  }
  function nodeOf(nodeId: string): RunGraphNode | null {
    return run.value?.graph.nodes.find((n) => n.id === nodeId) ?? null;
  }
  /** Retry: a failed or cancelled node of a run that has not been cancelled outright. */
  function canRetry(nodeId: string): boolean {
    const s = stateOf(nodeId)?.status;
    return (s === 'failed' || s === 'cancelled') && run.value?.status !== 'cancelled';
  }
  function awaitsApproval(nodeId: string): boolean {
    return active.value && nodeOf(nodeId)?.type === 'approval' && stateOf(nodeId)?.status === 'waiting';
  }
  function awaitsPick(nodeId: string): boolean {
    const n = nodeOf(nodeId);
    return active.value && n?.type === 'select' && n.select?.strategy === 'manual' && stateOf(nodeId)?.status === 'waiting';
  }

  return { active, flowData, counts, mixture, stateOf, nodeOf, canRetry, awaitsApproval, awaitsPick };
}

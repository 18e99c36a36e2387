/* Workflow and run bodies as the gateway returns them, for unit tests. */
import type { GraphDefinition, Run, RunGraph, RunNodeState, Workflow, WorkflowSummary } from '@/api/client';

export function graphDefinition(overrides: Partial<GraphDefinition> = {}): GraphDefinition {
  return {
    kind: 'graph',
    name: 'Build and test',
    parameters: [],
    settings: { maxParallel: 10 },
    nodes: [
      { id: 'build', type: 'task', task: { tool: 'shell', input: { command: 'make' } } },
      { id: 'test', type: 'task', task: { tool: 'shell', input: { command: 'make test' } } },
    ],
    edges: [{ from: 'build', to: 'test' }],
    layout: { build: { x: 0, y: 0 }, test: { x: 0, y: 120 } },
    ...overrides,
  };
}

export function workflowSummary(overrides: Partial<WorkflowSummary> = {}): WorkflowSummary {
  return {
    id: 'w-1',
    ownerId: 'u-1',
    name: 'Build and test',
    description: null,
    kind: 'graph',
    version: 1,
    paused: false,
    createdAt: '2026-11-01T10:00:00.000Z',
    updatedAt: '2026-11-01T10:00:00.000Z',
    lastRun: null,
    activeRuns: 0,
    schedules: [],
    ...overrides,
  };
}

export function workflow(overrides: Partial<Workflow> = {}): Workflow {
  return { ...workflowSummary(), definition: graphDefinition(), ...overrides } as Workflow;
}

export function nodeState(overrides: Partial<RunNodeState> = {}): RunNodeState {
  return {
    status: 'pending',
    iteration: 0,
    generation: 0,
    taskId: null,
    workerId: null,
    exitCode: null,
    text: null,
    reason: null,
    startedAt: null,
    finishedAt: null,
    winner: null,
    deadline: null,
    history: [],
    ...overrides,
  };
}

export const runGraph: RunGraph = {
  nodes: [
    { id: 'build', type: 'task', join: 'all', depth: 0, task: { tool: 'shell', input: { command: 'make' } } },
    { id: 'test', type: 'task', join: 'all', depth: 0, task: { tool: 'shell', input: { command: 'make test' } } },
  ],
  edges: [{ id: 'build->test', from: 'build', to: 'test' }],
};

export function run(overrides: Partial<Run> = {}): Run {
  return {
    id: 'r-1',
    workflowId: 'w-1',
    workflowVersion: 1,
    name: 'Build and test',
    kind: 'graph',
    status: 'running',
    trigger: { kind: 'manual', userId: 'u-1' },
    startedAt: '2026-11-01T10:00:00.000Z',
    finishedAt: null,
    updatedAt: '2026-11-01T10:00:00.000Z',
    error: null,
    ownerId: 'u-1',
    input: {},
    deadline: null,
    graph: runGraph,
    nodes: { build: nodeState({ status: 'running' }), test: nodeState() },
    version: 3,
    ...overrides,
  };
}

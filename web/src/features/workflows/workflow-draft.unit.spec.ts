import { describe, expect, it } from 'vitest';
import type { RunGraph } from '@/api/client';
import { graphDefinition } from '@/test/workflow-fixtures';
import {
  checkCondition,
  connect,
  draftFromDefinition,
  draftFromGraph,
  emptyDraft,
  groupIssues,
  issueAt,
  newNode,
  removeNode,
  toDefinition,
} from './workflow-draft';

describe('workflow draft', () => {
  it('round-trips a graph definition, positions included', () => {
    const def = graphDefinition({ edges: [{ from: 'build', to: 'test', condition: 'nodes.build.exitCode == 0' }] });
    const out = toDefinition(draftFromDefinition(def));
    expect(out.nodes).toEqual(def.nodes);
    expect(out.edges).toEqual(def.edges);
    expect(out.layout).toEqual(def.layout);
    expect(out.kind).toBe('graph');
  });

  it('keeps edges attached when a node is renamed', () => {
    const draft = draftFromDefinition(graphDefinition());
    draft.nodes[0]!.def = { ...draft.nodes[0]!.def, id: 'compile' };
    const out = toDefinition(draft);
    expect(out.edges).toEqual([{ from: 'compile', to: 'test' }]);
    expect(Object.keys(out.layout ?? {})).toEqual(['compile', 'test']);
  });

  it('gives a new node a free id and key, and drops a node’s edges with it', () => {
    const draft = emptyDraft();
    const a = newNode('task', draft);
    draft.nodes.push(a);
    const b = newNode('task', draft);
    draft.nodes.push(b);
    expect([a.def.id, b.def.id]).toEqual(['task1', 'task2']);
    expect(connect(draft, a.key, b.key)).not.toBeNull();
    expect(connect(draft, a.key, b.key)).toBeNull(); // no duplicate edge
    removeNode(draft, a.key);
    expect(draft.edges).toEqual([]);
  });

  it('places a server error on the node, edge or workflow its path names, in both path styles', () => {
    const draft = draftFromDefinition(graphDefinition());
    const g = groupIssues(
      [
        { field: 'nodes[1].task.input.command', message: 'command is required' },
        { field: 'edges.0.condition', message: 'bad condition' },
        { field: 'name', message: 'name is required' },
        { field: 'nodes[9].id', message: 'out of range' },
      ],
      draft,
    );
    expect(issueAt(g.byNode[draft.nodes[1]!.key], 'task.input.command')).toBe('command is required');
    expect(issueAt(g.byNode[draft.nodes[1]!.key], 'task.input')).toBe('command is required');
    expect(issueAt(g.byEdge[draft.edges[0]!.key], 'condition')).toBe('bad condition');
    expect(g.workflow.map((i) => i.field)).toEqual(['name', 'nodes[9].id']);
  });

  it('checks a condition with the service’s parser and gives the character position', () => {
    expect(checkCondition('nodes.test.exitCode == 0')).toBeNull();
    expect(checkCondition('')).toBeNull();
    const bad = checkCondition('nodes.test.exitCode == ');
    expect(bad?.message).toMatch(/at character/);
    expect(bad?.position).toBeGreaterThan(15);
    expect(checkCondition('eval("x")')?.message).toBeTruthy();
  });

  it('turns another kind’s compiled graph into an editable graph', () => {
    const graph: RunGraph = {
      nodes: [
        { id: 'agent1', type: 'task', join: 'all', depth: 0, task: { tool: 'shell', input: { command: 'echo a' } } },
        { id: 'agent2', type: 'task', join: 'all', depth: 0, task: { tool: 'shell', input: { command: 'echo b' } } },
        { id: 'pick', type: 'select', join: 'done', depth: 0, select: { strategy: 'shortest' }, cancelRemaining: true },
      ],
      edges: [
        { id: 'e1', from: 'agent1', to: 'pick' },
        { id: 'e2', from: 'agent2', to: 'pick' },
      ],
    };
    const def = toDefinition(draftFromGraph(graph, { name: 'Mixture', parameters: [{ name: 'request' }], settings: { maxParallel: 5 } }));
    expect(def.nodes.map((n) => n.id)).toEqual(['agent1', 'agent2', 'pick']);
    expect(def.nodes[2]).toMatchObject({ type: 'select', strategy: 'shortest', join: 'done', cancelRemaining: true });
    expect(def.edges).toEqual([
      { from: 'agent1', to: 'pick' },
      { from: 'agent2', to: 'pick' },
    ]);
    expect(def.parameters).toEqual([{ name: 'request' }]);
    expect(def.settings).toEqual({ maxParallel: 5 });
  });
});

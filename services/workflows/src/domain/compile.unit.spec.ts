import { DomainError, workflowDefinitionSchema } from '@agentyard/contracts';
import { compileDefinition, validateDefinition } from './compile';

const shell = (command: string) => ({ tool: 'shell' as const, input: { command } });
const graph = (nodes: unknown[], edges: unknown[], extra: Record<string, unknown> = {}) =>
  workflowDefinitionSchema.parse({ name: 'g', kind: 'graph', nodes, edges, ...extra });
const task = (id: string, command = 'true') => ({ id, type: 'task', task: shell(command) });

function issuesOf(definition: ReturnType<typeof graph>): { field: string; message: string }[] {
  return validateDefinition(definition).issues;
}

describe('compileDefinition', () => {
  describe('when the definition is sound', () => {
    it('orders the nodes topologically, ties by definition order', () => {
      const g = compileDefinition(
        graph(
          [task('c'), task('a'), task('b')],
          [
            { from: 'a', to: 'c' },
            { from: 'b', to: 'c' },
          ],
        ),
      );
      expect(g.nodes.map((n) => n.id)).toEqual(['a', 'b', 'c']);
      expect(g.edges.map((e) => e.id)).toEqual(['a->c', 'b->c']);
    });

    it('compiles each compact kind onto the graph', () => {
      const seq = compileDefinition(workflowDefinitionSchema.parse({ name: 's', kind: 'sequential', steps: [{ task: shell('a') }, { task: shell('b') }] }));
      expect(seq.edges.map((e) => e.id)).toEqual(['step1->step2']);
      const conc = compileDefinition(workflowDefinitionSchema.parse({ name: 'c', kind: 'concurrent', count: 3, join: { k: 2 }, task: shell('x') }));
      expect(conc.nodes.map((n) => `${n.id}:${n.type}`)).toEqual(['copy1:task', 'copy2:task', 'copy3:task', 'join:gate']);
      expect(conc.nodes[0]!.antiAffinity).toBe('copies');
      const mix = compileDefinition(
        workflowDefinitionSchema.parse({
          name: 'm',
          kind: 'mixture',
          candidates: [{ task: shell('a') }, { task: shell('b') }],
          aggregator: { strategy: 'judge', judge: shell('j') },
        }),
      );
      expect(mix.nodes.map((n) => `${n.id}:${n.type}:${typeof n.join === 'string' ? n.join : 'k'}`)).toEqual([
        'candidate1:task:all',
        'candidate2:task:all',
        'judge:task:done',
        'pick:select:done',
      ]);
      const h = compileDefinition(workflowDefinitionSchema.parse({ name: 'h', kind: 'hierarchical', director: shell('plan') }));
      expect(h.nodes).toEqual([expect.objectContaining({ id: 'director', type: 'director', plan: { maxSteps: 10, maxDepth: 1 } })]);
    });
  });

  describe('when the definition is wrong, it refuses with every problem named', () => {
    it('a cycle names an edge on it and says how to make it a loop', () => {
      const issues = issuesOf(
        graph(
          [task('a'), task('b'), task('c')],
          [
            { from: 'a', to: 'b' },
            { from: 'b', to: 'c' },
            { from: 'c', to: 'b' },
          ],
        ),
      );
      expect(issues).toEqual([{ field: 'edges[1]', message: expect.stringMatching(/edge b→c closes a cycle: mark it as a loop-back edge/) }]);
    });

    it('an edge naming an unknown node, a duplicate id, a duplicate edge', () => {
      const issues = issuesOf(
        graph(
          [task('a'), task('a')],
          [
            { from: 'a', to: 'ghost' },
            { from: 'a', to: 'ghost' },
          ],
        ),
      );
      expect(issues.map((i) => i.message)).toEqual(expect.arrayContaining([expect.stringMatching(/node id a is used twice/)]));
      const edges = issuesOf(
        graph(
          [task('a'), task('b')],
          [
            { from: 'a', to: 'ghost' },
            { from: 'a', to: 'b' },
            { from: 'a', to: 'b' },
          ],
        ),
      );
      expect(edges).toEqual([
        { field: 'edges[0].to', message: 'edge a→ghost names unknown node ghost' },
        { field: 'edges[2]', message: 'edge a→b is given twice' },
      ]);
    });

    it('a loop-back edge that points forward', () => {
      const issues = issuesOf(graph([task('a'), task('b')], [{ from: 'a', to: 'b', loop: { maxIterations: 2 } }]));
      expect(issues).toEqual([{ field: 'edges[0]', message: 'loop-back edge a→b must point back to a node that runs before a' }]);
    });

    it('a condition with a syntax error gives its position', () => {
      const issues = issuesOf(graph([task('a'), task('b')], [{ from: 'a', to: 'b', condition: 'nodes.a.exitCode == ' }]));
      expect(issues).toEqual([
        { field: 'edges[0].condition', message: expect.stringMatching(/syntax error .*Expected expression after == \(at character 20\)/) },
      ]);
    });

    it('a condition or template naming an unknown node, a node that runs later, or an undeclared parameter', () => {
      const issues = issuesOf(
        graph([task('a', 'echo {{nodes.b.output}} {{run.input.repo}}'), task('b')], [{ from: 'a', to: 'b', condition: 'nodes.zzz.exitCode == 0' }]),
      );
      expect(issues.map((i) => `${i.field}: ${i.message}`)).toEqual([
        'edges[0].condition: nodes.zzz.exitCode == 0: there is no node zzz',
        'nodes[0].task.input.command: {{nodes.b.output}}: node a reads node b, which does not run before it',
        'nodes[0].task.input.command: {{run.input.repo}}: run.input.repo is not a declared parameter (add it to parameters)',
      ]);
    });

    it('an unknown function or filter, an unclosed placeholder', () => {
      expect(issuesOf(graph([task('a', 'echo {{ eval(1) }}')], []))[0]!.message).toMatch(/unknown function eval/);
      expect(issuesOf(graph([task('a', 'echo {{ run.id | upper }}')], []))[0]!.message).toMatch(/unknown filter upper/);
      expect(issuesOf(graph([task('a', 'echo {{ run.id')], []))[0]!.message).toMatch(/not closed/);
    });

    it('a join that can never be met, a judge that is not connected, a select without candidates', () => {
      const issues = issuesOf(
        graph(
          [
            task('a'),
            { id: 'g', type: 'gate', join: { k: 2 } },
            { id: 'pick', type: 'select', strategy: 'judge', judge: 'a' },
            { id: 'lonely', type: 'select', strategy: 'vote' },
          ],
          [
            { from: 'a', to: 'g' },
            { from: 'g', to: 'pick' },
          ],
        ),
      );
      expect(issues.map((i) => i.message)).toEqual([
        'node g waits for 2 incoming edges but has 1',
        'judge a must be a task node connected to pick',
        'select node lonely has no candidates: connect the candidates to it',
      ]);
    });

    it('an unknown tool or an input the tool refuses is caught by the schema, with the field', () => {
      const bad = workflowDefinitionSchema.safeParse({ name: 'x', kind: 'graph', nodes: [{ id: 'a', type: 'task', task: { tool: 'hammer', input: {} } }] });
      expect(bad.success).toBe(false);
      const noCommand = workflowDefinitionSchema.safeParse({
        name: 'x',
        kind: 'graph',
        nodes: [{ id: 'a', type: 'task', task: { tool: 'shell', input: {} } }],
      });
      expect(noCommand.error?.issues[0]).toMatchObject({ path: ['nodes', 0, 'task', 'input', 'command'] });
    });

    it('throws VALIDATION_FAILED with the problems as details', () => {
      let error: unknown;
      try {
        compileDefinition(graph([task('a')], [{ from: 'a', to: 'a' }]));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe('VALIDATION_FAILED');
      expect((error as DomainError).details).toEqual([{ field: 'edges[0]', message: expect.stringMatching(/points at its own node/) }]);
    });
  });
});

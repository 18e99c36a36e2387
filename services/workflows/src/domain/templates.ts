/*
 * Workflow templates: starting points with named parameters. A template's definition may hold
 * `{{params.<name>}}` placeholders anywhere in its strings (a string that is exactly one
 * placeholder takes the parameter's JSON value), substituted when the template is instantiated;
 * a parameter named like one of the definition's run parameters also becomes that parameter's
 * default. The built-in starters (one per kind) run on a fresh `npm start` with the local
 * worker's `shell` tool, and switch to a prompt tool (claude-code, gemini-cli, …) when asked.
 */
import {
  DomainError,
  parseOrThrow,
  toolNames,
  workflowDefinitionSchema,
  type TaskSpec,
  type ToolName,
  type WorkflowDefinition,
  type WorkflowKind,
  type WorkflowParameter,
} from '@agentyard/contracts';

export interface Template {
  id: string;
  name: string;
  description: string;
  kind: WorkflowKind;
  parameters: WorkflowParameter[];
  /** The definition with `{{params.*}}` placeholders (built-ins: from their defaults). */
  definition: unknown;
}

const param = (name: string, description: string, value: unknown, extra: Partial<WorkflowParameter> = {}): WorkflowParameter => ({
  name,
  description,
  required: false,
  default: value,
  ...extra,
});

const isPromptTool = (tool: string) => tool !== 'shell' && tool !== 'noop';

/** A task that runs `command` with the shell, or asks a prompt tool to do `prompt`. */
function agentTask(tool: string, prompt: string, command: string, description: string): TaskSpec {
  if (!(toolNames as readonly string[]).includes(tool)) throw new DomainError('VALIDATION_FAILED', `unknown tool ${tool}; known: ${toolNames.join(', ')}`);
  return isPromptTool(tool) ? { description, tool: tool as ToolName, input: { prompt } } : { description, tool: tool as ToolName, input: { command } };
}

/** The built-in starters; `definitionFor(params)` gives the definition for chosen parameters. */
export const builtInTemplates: (Template & { definitionFor(params: Record<string, unknown>): unknown })[] = [
  {
    id: 'builtin-plan-implement-test',
    name: 'Plan, implement, test — with a fix loop',
    description: 'A planner hands to an implementer; the tests run; a failure goes to a fixer and back to the tests, at most maxFixes times.',
    kind: 'graph',
    parameters: [param('agent', 'tool for planning, implementing and fixing (shell simulates them)', 'shell'), param('maxFixes', 'fix iterations at most', 3)],
    definition: null,
    definitionFor(p) {
      const agent = String(p.agent);
      return {
        name: 'Plan, implement, test',
        kind: 'graph',
        parameters: [{ name: 'goal', description: 'what to build', default: 'a greeting script' }],
        nodes: [
          {
            id: 'plan',
            type: 'task',
            task: agentTask(
              agent,
              'Write a short plan for: {{run.input.goal}}. Write it as JSON {"steps": ["..."]} to the file named by $AGENTYARD_OUTPUT.',
              `echo 'planning: {{run.input.goal}}' && printf '{"steps":["write","check"]}' > "$AGENTYARD_OUTPUT"`,
              'plan',
            ),
          },
          {
            id: 'implement',
            type: 'task',
            task: agentTask(agent, 'Implement this plan: {{nodes.plan.output | json}}', `echo 'implementing {{nodes.plan.output.steps | json}}'`, 'implement'),
          },
          // The stand-in test fails on its first run and passes once fixed: the loop is visible.
          {
            id: 'test',
            type: 'task',
            task: { description: 'test', tool: 'shell', input: { command: 'echo "test run {{node.iteration}}"; test {{node.iteration}} -ge 1' } },
          },
          {
            id: 'fix',
            type: 'task',
            task: agentTask(agent, 'The tests failed:\n{{nodes.test.text}}\nFix the code.', `echo 'fixing after exit {{nodes.test.exitCode}}'`, 'fix'),
          },
          { id: 'done', type: 'task', task: { description: 'report', tool: 'shell', input: { command: "echo 'all tests pass'" } } },
        ],
        edges: [
          { from: 'plan', to: 'implement' },
          { from: 'implement', to: 'test' },
          { from: 'test', to: 'fix', condition: 'nodes.test.exitCode != 0' },
          { from: 'fix', to: 'test', loop: { maxIterations: Number(p.maxFixes) } },
          { from: 'test', to: 'done', condition: 'nodes.test.exitCode == 0' },
        ],
        layout: {
          plan: { x: 0, y: 0 },
          implement: { x: 0, y: 120 },
          test: { x: 0, y: 240 },
          fix: { x: 260, y: 240 },
          done: { x: 0, y: 360 },
        },
      };
    },
  },
  {
    id: 'builtin-best-of-three',
    name: 'Three agents, pick the best',
    description: 'The same request to three agents in parallel; the shortest successful answer wins (or a vote, a judge, or your choice).',
    kind: 'mixture',
    parameters: [
      param('agents', 'three tools, e.g. ["claude-code","gemini-cli","shell"]', ['shell', 'shell', 'shell']),
      param('strategy', 'first-success, shortest, vote or manual', 'shortest'),
    ],
    definition: null,
    definitionFor(p) {
      const agents = Array.isArray(p.agents) ? p.agents.map(String) : [];
      if (agents.length < 2)
        throw new DomainError('VALIDATION_FAILED', 'agents: give at least two tools', [{ field: 'parameters.agents', message: 'give at least two tools' }]);
      const answers = ['a short answer', 'a somewhat longer answer', 'the longest answer of the three'];
      return {
        name: 'Three agents, pick the best',
        kind: 'mixture',
        parameters: [{ name: 'request', description: 'what to ask', default: 'Suggest a name for a build tool.' }],
        candidates: agents.map((tool, i) => ({
          id: `agent${i + 1}`,
          label: `${tool} #${i + 1}`,
          task: agentTask(tool, '{{run.input.request}}', `echo '${answers[i % answers.length]}'`, `agent ${i + 1}`),
        })),
        aggregator: { strategy: String(p.strategy) },
      };
    },
  },
  {
    id: 'builtin-director-workers',
    name: 'Director and workers',
    description: 'A director writes a plan; each step becomes a task (in dependency order); a reviewer looks at the results.',
    kind: 'hierarchical',
    parameters: [param('agent', 'tool for the director (shell writes a fixed three-step plan)', 'shell')],
    definition: null,
    definitionFor(p) {
      const agent = String(p.agent);
      return {
        name: 'Director and workers',
        kind: 'hierarchical',
        parameters: [{ name: 'goal', default: 'ship a release' }],
        director: agentTask(
          agent,
          'Plan the work for: {{run.input.goal}}. Write JSON {"steps":[{"id":"a","description":"...","command":"...","dependsOn":[]}]} to the file named by $AGENTYARD_OUTPUT.',
          `printf '%s' '{"steps":[{"id":"build","description":"build it","command":"echo building"},{"id":"test","description":"test it","command":"echo testing","dependsOn":["build"]},{"id":"docs","description":"write notes","command":"echo writing notes"}]}' > "$AGENTYARD_OUTPUT"`,
          'director',
        ),
        plan: {
          maxSteps: 10,
          step: { description: '{{step.description}}', tool: 'shell', input: { command: '{{step.command}}' } },
          review: { description: 'review', tool: 'shell', input: { command: 'echo reviewed {{inputs | json | shell}}' } },
        },
      };
    },
  },
  {
    id: 'builtin-fan-out',
    name: 'Same task on several workers',
    description: 'One command on `count` workers at once, joined on all of them (set distinctWorkers to spread the copies over different machines).',
    kind: 'concurrent',
    parameters: [
      param('count', 'copies', 2),
      param('distinctWorkers', 'one copy per worker (needs that many workers)', false),
      param('command', 'what each copy runs', 'hostname; uptime'),
    ],
    definition: null,
    definitionFor(p) {
      return {
        name: 'Same task on several workers',
        kind: 'concurrent',
        count: Number(p.count),
        distinctWorkers: Boolean(p.distinctWorkers),
        join: 'all',
        task: { description: 'copy', tool: 'shell', input: { command: String(p.command) } },
        then: { description: 'gather', tool: 'shell', input: { command: 'echo gathered {{inputs.join.output | json | shell}}' } },
      };
    },
  },
  {
    id: 'builtin-pipeline',
    name: 'Build, test, package',
    description: 'Three steps in a row, each handing its output to the next.',
    kind: 'sequential',
    parameters: [param('agent', 'tool for the build step', 'shell')],
    definition: null,
    definitionFor(p) {
      return {
        name: 'Build, test, package',
        kind: 'sequential',
        steps: [
          {
            id: 'build',
            task: agentTask(
              String(p.agent),
              'Build the project and write {"artifact": "<name>"} to $AGENTYARD_OUTPUT.',
              `echo building && printf '{"artifact":"app-1.0.tgz"}' > "$AGENTYARD_OUTPUT"`,
              'build',
            ),
          },
          { id: 'test', task: { description: 'test', tool: 'shell', input: { command: 'echo testing {{nodes.build.output.artifact}}' } } },
          { id: 'package', task: { description: 'package', tool: 'shell', input: { command: 'echo packaged {{nodes.build.output.artifact}}' } } },
        ],
      };
    },
  },
];

for (const t of builtInTemplates) t.definition = t.definitionFor(Object.fromEntries(t.parameters.map((p) => [p.name, p.default])));

/** The parameters' values: given ones (declared only), else defaults; required ones present. */
export function templateParameters(parameters: readonly WorkflowParameter[], given: Record<string, unknown>): Record<string, unknown> {
  const names = new Set(parameters.map((p) => p.name));
  const issues: { field: string; message: string }[] = [];
  for (const key of Object.keys(given))
    if (!names.has(key))
      issues.push({ field: `parameters.${key}`, message: `${key} is not a parameter of this template (${[...names].join(', ') || 'it has none'})` });
  const values: Record<string, unknown> = {};
  for (const p of parameters) {
    if (Object.prototype.hasOwnProperty.call(given, p.name)) values[p.name] = given[p.name];
    else if (p.default !== undefined) values[p.name] = p.default;
    else if (p.required) issues.push({ field: `parameters.${p.name}`, message: `${p.name} is required` });
  }
  if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', `invalid template parameters: ${issues.map((i) => i.message).join('; ')}`, issues);
  return values;
}

const placeholder = /\{\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Replaces `{{params.x}}` in every string of a JSON value. */
export function substituteParams(value: unknown, params: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/.exec(value);
    if (whole && Object.prototype.hasOwnProperty.call(params, whole[1]!)) return params[whole[1]!];
    return value.replace(placeholder, (m, name: string) => (Object.prototype.hasOwnProperty.call(params, name) ? textOf(params[name]) : m));
  }
  if (Array.isArray(value)) return value.map((v) => substituteParams(v, params));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteParams(v, params)]));
  return value;
}

const textOf = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** The definition a template gives for `given` parameters, checked (400 naming what is wrong). */
export function instantiate(
  template: Template & { definitionFor?: (params: Record<string, unknown>) => unknown },
  given: Record<string, unknown>,
  name?: string,
): WorkflowDefinition {
  const params = templateParameters(template.parameters, given);
  const raw = (template.definitionFor ? template.definitionFor(params) : substituteParams(template.definition, params)) as Record<string, unknown>;
  // A template parameter named like a run parameter sets that parameter's default.
  const runParameters = Array.isArray(raw.parameters) ? (raw.parameters as WorkflowParameter[]) : [];
  const withDefaults = runParameters.map((p) => (Object.prototype.hasOwnProperty.call(params, p.name) ? { ...p, default: params[p.name] } : p));
  return parseOrThrow(workflowDefinitionSchema, { ...raw, parameters: withDefaults, ...(name ? { name } : {}) }, 'workflow from the template');
}

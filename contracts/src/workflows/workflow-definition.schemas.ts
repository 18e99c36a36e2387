/*
 * What a user writes: a workflow definition. Five kinds share one runtime (brief §9): a graph of
 * nodes and edges. `graph` is that graph written out; `sequential`, `concurrent`, `hierarchical`
 * and `mixture` are compact forms the workflows service compiles onto it (domain/compile.ts).
 * These schemas check shapes and limits; what needs the whole graph (cycles, unknown nodes named
 * by an edge or an expression, expression syntax) is checked by that compiler, which answers a
 * 400 naming the edge, the node or the character position.
 */
import { z } from 'zod';
import { text } from '../common/text';
import { taskRequirementsSchema, taskLimits } from '../tasks/task.schemas';
import { toolInputSchemas, toolNameSchema, toolNames } from '../tasks/tool-input.schemas';

export const workflowLimits = {
  nameMax: 200,
  descriptionMax: 10_000,
  /** Nodes of a definition (a fan-out of 1,000 fits). */
  nodesMax: 2_000,
  edgesMax: 5_000,
  /** Nodes of a run, plans expanded. */
  runNodesMax: 4_000,
  parametersMax: 50,
  loopIterationsMax: 100,
  concurrentCountMax: 50,
  mixtureCandidatesMax: 20,
  planStepsMax: 50,
  planDepthMax: 3,
  maxParallel: { min: 1, max: 1_000, default: 10 },
  runTimeoutSeconds: { min: 1, max: 30 * 24 * 3600 },
  approvalTimeoutSeconds: { min: 1, max: 30 * 24 * 3600, default: 24 * 3600 },
  /** Structured output a node passes on (JSON, serialised). */
  outputBytesMax: 64 * 1024,
  /** Tail of a node's terminal output kept in the run (the whole tail stays in the task). */
  textBytesMax: 8 * 1024,
  /** Serialised definition. */
  definitionBytesMax: 900 * 1024,
} as const;

/** A node id is an identifier, so expressions can name it: `nodes.test.exitCode`. */
export const nodeIdSchema = text().regex(
  /^[A-Za-z_][A-Za-z0-9_]{0,63}$/,
  'a node id is letters, digits and _, starting with a letter or _ (at most 64), e.g. test or fix_1',
);

const templateString = (max: number) => text().max(max, `at most ${max} characters`);

/**
 * A node's task: what the node asks a worker to run. String fields (and strings nested in
 * `input`) may hold placeholders such as `{{nodes.plan.output.steps | json}}`, rendered when the
 * node becomes ready; the rendered input is checked against the tool's schema again then.
 */
export const taskSpecSchema = z
  .object({
    description: templateString(taskLimits.descriptionMax).optional(),
    tool: toolNameSchema,
    input: z.record(text(), z.unknown()).default({}),
    priority: z.number().int().min(taskLimits.priority.min).max(taskLimits.priority.max).optional(),
    timeoutSeconds: z.number().int().min(taskLimits.timeoutSeconds.min).max(taskLimits.timeoutSeconds.max).optional(),
    maxAttempts: z.number().int().min(taskLimits.maxAttempts.min).max(taskLimits.maxAttempts.max).optional(),
    requirements: taskRequirementsSchema.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const parsed = toolInputSchemas[spec.tool].safeParse(spec.input);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['input', ...issue.path], message: issue.message });
  });
export type TaskSpec = z.infer<typeof taskSpecSchema>;

/**
 * How a node waits for the edges coming into it:
 *  - `all`: every incoming edge taken (a not-taken one skips the node: dead-path elimination);
 *  - `any`: the first taken edge starts it;
 *  - `done`: once every incoming edge is decided, if at least one was taken (a judge that must see
 *    every candidate, successful or not);
 *  - `{ k }`: the k-th taken edge starts it.
 */
export const joinSchema = z.union([z.enum(['all', 'any', 'done']), z.object({ k: z.number().int().min(1).max(workflowLimits.nodesMax) }).strict()]);
export type Join = z.infer<typeof joinSchema>;

/** Hierarchical: how a director's plan becomes nodes. */
export const planSettingsSchema = z
  .object({
    /** Fan-out cap: more steps than this fails the director node. */
    maxSteps: z.number().int().min(1).max(workflowLimits.planStepsMax).default(10),
    /** Depth cap: a step may itself direct (`director: true`) while depth < maxDepth. */
    maxDepth: z.number().int().min(1).max(workflowLimits.planDepthMax).default(1),
    /** The task each step runs; `{{step.…}}` names the step (e.g. `{{step.command}}`). A step's own tool/input wins. */
    step: taskSpecSchema.optional(),
    /** Optional review node after every step. */
    review: taskSpecSchema.optional(),
  })
  .strict();
export type PlanSettings = z.infer<typeof planSettingsSchema>;

const nodeBase = {
  id: nodeIdSchema,
  /** Shown in the editor and run view. */
  label: text().max(200).optional(),
  join: joinSchema.optional(),
};

export const selectStrategies = ['first-success', 'shortest', 'vote', 'judge', 'manual'] as const;
export const selectStrategySchema = z.enum(selectStrategies);
export type SelectStrategy = z.infer<typeof selectStrategySchema>;

export const graphNodeSchema = z.discriminatedUnion('type', [
  /** Runs a task on a worker. */
  z.object({ ...nodeBase, type: z.literal('task'), task: taskSpecSchema }).strict(),
  /** Runs a task whose structured output is a plan (workflowPlanSchema): its steps become nodes. */
  z.object({ ...nodeBase, type: z.literal('director'), task: taskSpecSchema, plan: planSettingsSchema.default({ maxSteps: 10, maxDepth: 1 }) }).strict(),
  /** Waits for a person (dashboard or API) to approve or reject; applies `onTimeout` after the timeout. */
  z
    .object({
      ...nodeBase,
      type: z.literal('approval'),
      message: templateString(4_000).optional(),
      timeoutSeconds: z
        .number()
        .int()
        .min(workflowLimits.approvalTimeoutSeconds.min)
        .max(workflowLimits.approvalTimeoutSeconds.max)
        .default(workflowLimits.approvalTimeoutSeconds.default),
      onTimeout: z.enum(['approve', 'reject']).default('reject'),
    })
    .strict(),
  /** Joins branches without running anything; its output maps each taken predecessor to its output. */
  z.object({ ...nodeBase, type: z.literal('gate'), cancelRemaining: z.boolean().default(false) }).strict(),
  /**
   * Picks one predecessor's result (Mixture's aggregator): the first to succeed, the shortest
   * successful output, a majority vote over `voteOn`, a judge node's `{ "winner": "<node id>" }`,
   * or a person's choice. Its output is the winner's output.
   */
  z
    .object({
      ...nodeBase,
      type: z.literal('select'),
      strategy: selectStrategySchema,
      /** For `judge`: the predecessor task node whose output names the winner. */
      judge: nodeIdSchema.optional(),
      /** For `vote`: a path into each candidate's output (default: the whole output). */
      voteOn: text()
        .max(200)
        .regex(/^[A-Za-z0-9_.[\]-]*$/, 'a path such as verdict or result.answer')
        .optional(),
      cancelRemaining: z.boolean().default(true),
    })
    .strict(),
]);
export type GraphNode = z.infer<typeof graphNodeSchema>;
export type GraphNodeType = GraphNode['type'];

export const graphEdgeSchema = z
  .object({
    from: nodeIdSchema,
    to: nodeIdSchema,
    /** Taken when true. Default: taken when `from` succeeded (approved, for an approval). */
    condition: text().max(2_000).optional(),
    /** A loop-back edge: points at a node that runs before `from`; taken at most maxIterations times. */
    loop: z
      .object({
        maxIterations: z.number().int().min(1).max(workflowLimits.loopIterationsMax),
        /** When the condition still holds after the last iteration: fail the run (default) or go on. */
        onExhausted: z.enum(['fail', 'continue']).default('fail'),
      })
      .strict()
      .optional(),
  })
  .strict();
export type GraphEdge = z.infer<typeof graphEdgeSchema>;

export const workflowParameterSchema = z
  .object({
    name: text().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a parameter name is letters, digits and _'),
    description: text().max(1_000).optional(),
    required: z.boolean().default(false),
    /** JSON value used when a run does not give one. */
    default: z.unknown().optional(),
  })
  .strict();
export type WorkflowParameter = z.infer<typeof workflowParameterSchema>;

export const workflowSettingsSchema = z
  .object({
    /** Most task and director nodes of one run in flight at once (an approval waiting does not count). */
    maxParallel: z.number().int().min(workflowLimits.maxParallel.min).max(workflowLimits.maxParallel.max).default(workflowLimits.maxParallel.default),
    /** The whole run's time limit; running tasks are cancelled when it passes. */
    timeoutSeconds: z.number().int().min(workflowLimits.runTimeoutSeconds.min).max(workflowLimits.runTimeoutSeconds.max).optional(),
  })
  .strict();
export type WorkflowSettings = z.infer<typeof workflowSettingsSchema>;

/** Editor positions, by node id (display only; never affects a run). */
export const workflowLayoutSchema = z
  .record(text().max(64), z.object({ x: z.number().finite(), y: z.number().finite() }).strict())
  .refine((layout) => Object.keys(layout).length <= workflowLimits.nodesMax, `layout: at most ${workflowLimits.nodesMax} positions`);

const definitionBase = {
  name: text().min(1, 'name is required').max(workflowLimits.nameMax),
  description: text().max(workflowLimits.descriptionMax).optional(),
  parameters: z.array(workflowParameterSchema).max(workflowLimits.parametersMax).default([]),
  settings: workflowSettingsSchema.default({ maxParallel: workflowLimits.maxParallel.default }),
  layout: workflowLayoutSchema.optional(),
};

/** A step of a compact kind: a task node with an id (optional: `step1`, `step2`… by position). */
export const stepSpecSchema = z.object({ id: nodeIdSchema.optional(), label: text().max(200).optional(), task: taskSpecSchema }).strict();
export type StepSpec = z.infer<typeof stepSpecSchema>;

export const workflowKinds = ['sequential', 'concurrent', 'graph', 'hierarchical', 'mixture'] as const;
export type WorkflowKind = (typeof workflowKinds)[number];

export const workflowDefinitionSchema = z
  .discriminatedUnion('kind', [
    /** A → B → C; each step's output is available to the next (`{{nodes.step1.output}}`, `{{inputs}}`). */
    z
      .object({
        ...definitionBase,
        kind: z.literal('sequential'),
        steps: z.array(stepSpecSchema).min(1, 'give at least one step').max(workflowLimits.nodesMax),
      })
      .strict(),
    /** The same task `count` times on `count` distinct workers, joined on all, any or k of them. */
    z
      .object({
        ...definitionBase,
        kind: z.literal('concurrent'),
        task: taskSpecSchema,
        count: z.number().int().min(2).max(workflowLimits.concurrentCountMax),
        join: joinSchema.default('all'),
        /** Each copy on its own worker (anti-affinity); false lets copies share one. */
        distinctWorkers: z.boolean().default(true),
        /** Cancel copies still running once the join is satisfied (any / k). */
        cancelRemaining: z.boolean().default(true),
        /** Optional node after the join; `{{inputs}}` holds the copies' results. */
        then: taskSpecSchema.optional(),
      })
      .strict(),
    /** A DAG with conditional edges, join modes and bounded loop-back edges. */
    z
      .object({
        ...definitionBase,
        kind: z.literal('graph'),
        nodes: z.array(graphNodeSchema).min(1, 'give at least one node').max(workflowLimits.nodesMax),
        edges: z.array(graphEdgeSchema).max(workflowLimits.edgesMax).default([]),
      })
      .strict(),
    /** A director task returns a plan; its steps become nodes, optionally followed by a review. */
    z
      .object({
        ...definitionBase,
        kind: z.literal('hierarchical'),
        director: taskSpecSchema,
        plan: planSettingsSchema.default({ maxSteps: 10, maxDepth: 1 }),
      })
      .strict(),
    /** The same input to N tools or models in parallel, then an aggregator picks the result. */
    z
      .object({
        ...definitionBase,
        kind: z.literal('mixture'),
        candidates: z.array(stepSpecSchema).min(2, 'give at least two candidates').max(workflowLimits.mixtureCandidatesMax),
        aggregator: z
          .object({
            strategy: selectStrategySchema,
            /** For `judge`: the task that sees every candidate (`{{inputs | json}}`) and writes `{"winner": "<id>"}`. */
            judge: taskSpecSchema.optional(),
            voteOn: text().max(200).optional(),
          })
          .strict(),
        then: taskSpecSchema.optional(),
      })
      .strict(),
  ])
  .superRefine((d, ctx) => {
    const bytes = new TextEncoder().encode(JSON.stringify(d)).length;
    if (bytes > workflowLimits.definitionBytesMax)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `the definition is ${Math.ceil(bytes / 1024)} KiB, more than the ${workflowLimits.definitionBytesMax / 1024} KiB allowed`,
      });
    if (d.kind === 'mixture' && d.aggregator.strategy === 'judge' && !d.aggregator.judge)
      ctx.addIssue({ code: 'custom', path: ['aggregator', 'judge'], message: 'the judge strategy needs a judge task' });
    const names = new Set<string>();
    d.parameters.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['parameters', i, 'name'], message: `parameter ${p.name} is declared twice` });
      names.add(p.name);
    });
  });
export type WorkflowDefinition = z.infer<typeof workflowDefinitionSchema>;
/** What a client may send (defaults not yet applied). */
export type WorkflowDefinitionInput = z.input<typeof workflowDefinitionSchema>;

/**
 * The plan a director node writes to its structured output (`$AGENTYARD_OUTPUT`). Published in
 * the OpenAPI document as `WorkflowPlan`. A step runs the plan settings' `step` task with
 * `{{step.*}}` naming the step, or its own `tool` and `input`.
 */
export const planStepSchema = z
  .object({
    id: text().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/, 'a step id is letters, digits and _ (at most 32)'),
    description: text().min(1).max(2_000),
    tool: z.enum(toolNames).optional(),
    input: z.record(text(), z.unknown()).optional(),
    /** Free fields the step task's templates may use, e.g. `{{step.command}}`. */
    command: text()
      .max(64 * 1024)
      .optional(),
    prompt: text()
      .max(256 * 1024)
      .optional(),
    dependsOn: z.array(text().max(32)).max(workflowLimits.planStepsMax).default([]),
    /** This step plans again (needs depth left). */
    director: z.boolean().default(false),
  })
  .strict();
export const workflowPlanSchema = z
  .object({
    steps: z.array(planStepSchema).min(1, 'a plan has at least one step'),
    summary: text().max(10_000).optional(),
  })
  .strict()
  .meta({ id: 'WorkflowPlan' });
export type WorkflowPlan = z.infer<typeof workflowPlanSchema>;
export type PlanStep = z.infer<typeof planStepSchema>;

/** The judge's structured output. */
export const judgeVerdictSchema = z.object({ winner: text().min(1).max(64), reason: text().max(10_000).optional() }).strict();

/*
 * Drives the run decider through a scenario without I/O: commands in, events folded, with the
 * helpers a scenario needs (finish a node's task by node id, read a node). Used by the unit tests
 * and by the golden histories (run.golden.unit.spec.ts), which record each step's command and the
 * events it decided and replay them in CI.
 */
import type { RunTrigger, WorkflowDefinition } from '@agentyard/contracts';
import { runEvents, workflowDefinitionSchema } from '@agentyard/contracts';
import { compileDefinition } from './compile';
import { evolve, initialState, type NodeRun, type RunState } from './run';
import { decide, type DecidedRunEvent, type RunCommand, type TaskOutcome } from './run.decide';

export const OWNER = 'user-owner';
export const T0 = Date.parse('2026-12-04T12:00:00.000Z');

export interface Step {
  command: RunCommand;
  events: DecidedRunEvent[];
}

export class RunScenario {
  state: RunState = initialState();
  readonly steps: Step[] = [];
  private clock = T0;

  constructor(readonly runId = '0193a000-0000-7000-8000-000000000001') {}

  /** Seconds since T0 of the next command (advances the scenario's clock). */
  at(seconds: number): this {
    this.clock = T0 + seconds * 1000;
    return this;
  }

  get now(): Date {
    return new Date(this.clock);
  }

  /** Decides and folds; returns the events decided. */
  run(command: RunCommand): DecidedRunEvent[] {
    const events = decide(command, this.state);
    this.steps.push({ command, events });
    this.fold(events);
    return events;
  }

  fold(events: DecidedRunEvent[]): void {
    for (const e of events) {
      // Parsed as the service's fold parses stored events.
      const envelope = runEvents.parse({
        id: '00000000-0000-4000-8000-000000000000',
        type: e.type,
        version: 1,
        streamId: `run-${this.runId}`,
        streamVersion: this.state.version + 1,
        occurredAt: this.now.toISOString(),
        data: e.data,
        metadata: { correlationId: 'c', causationId: 'c' },
      });
      this.state = evolve(this.state, envelope);
    }
  }

  start(definition: unknown, input: Record<string, unknown> = {}, trigger: RunTrigger = { kind: 'manual', userId: OWNER }): DecidedRunEvent[] {
    const d: WorkflowDefinition = workflowDefinitionSchema.parse(definition);
    return this.run({
      kind: 'StartRun',
      runId: this.runId,
      workflow: { id: 'wf-1', version: 1, name: d.name, kind: d.kind, ownerId: OWNER, parameters: d.parameters, settings: d.settings },
      graph: compileDefinition(d),
      input,
      trigger,
      now: this.now,
    });
  }

  node(id: string): NodeRun {
    const n = this.state.nodes[id];
    if (!n) throw new Error(`no node ${id}; nodes: ${Object.keys(this.state.nodes).join(', ')}`);
    return n;
  }

  taskOf(id: string): string {
    const taskId = this.node(id).taskId;
    if (!taskId) throw new Error(`node ${id} has no task (${this.node(id).status})`);
    return taskId;
  }

  started(id: string, workerId = 'worker-1'): DecidedRunEvent[] {
    return this.run({ kind: 'RecordTaskStarted', taskId: this.taskOf(id), workerId, attempt: 1, now: this.now });
  }

  /** The node's current task finished. */
  finish(
    id: string,
    outcome: TaskOutcome = 'succeeded',
    result: { exitCode?: number | null; output?: unknown; text?: string; error?: string } = {},
  ): DecidedRunEvent[] {
    return this.run({
      kind: 'RecordTaskFinished',
      taskId: this.taskOf(id),
      outcome,
      exitCode: result.exitCode !== undefined ? result.exitCode : outcome === 'succeeded' ? 0 : 1,
      output: result.output,
      text: result.text ?? `${id} done\n`,
      error: result.error ?? null,
      durationMs: 5,
      now: this.now,
    });
  }

  /** Ids of nodes in a status, in graph order. */
  inStatus(status: NodeRun['status']): string[] {
    return this.state.graph.nodes.map((n) => n.id).filter((id) => this.state.nodes[id]?.status === status);
  }

  types(events: DecidedRunEvent[]): string[] {
    return events.map((e) => (e.data.nodeId ? `${e.type}:${String(e.data.nodeId)}` : e.type));
  }
}

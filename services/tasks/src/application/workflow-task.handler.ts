/*
 * Workflow nodes run as tasks: the workflows service appends NodeScheduled / NodeCancelled to a
 * run's stream, and the tasks service reacts to them from the WORKFLOWS stream (no RPC between
 * backend services). The task id is derived by the run from (run, node, iteration, generation),
 * so a redelivered or republished NodeScheduled finds the task's stream and decides nothing:
 * one task per node execution (task.decide.ts; test/tasks.int.spec.ts, "workflow run").
 * CreateWorkflowTask is never decided on an assumed-empty stream (TaskCommandRunner uses
 * `assumeNew` only for CreateTask, whose id it just made up): here the stream may well exist.
 */
import { Injectable } from '@nestjs/common';
import type { CorrelationMetadata, NodeTask, TaskWorkflowRef } from '@agentyard/contracts';
import { TaskCommandRunner } from './task-command.runner';

export interface ScheduledNode {
  taskId: string;
  ownerId: string;
  task: NodeTask;
  workflow: TaskWorkflowRef;
}

@Injectable()
export class WorkflowTaskHandler {
  constructor(private readonly commands: TaskCommandRunner) {}

  /** NodeScheduled → the node's task, created and queued once; true when this call created it. */
  async create(node: ScheduledNode, metadata: CorrelationMetadata): Promise<boolean> {
    const { events } = await this.commands.run(node.taskId, { kind: 'CreateWorkflowTask', ...node, now: new Date() }, metadata);
    return events.length > 0;
  }

  /** NodeCancelled → the task cancelled if it belongs to `runId` and is unfinished; true when this call cancelled it. */
  async cancel(taskId: string, runId: string, metadata: CorrelationMetadata): Promise<boolean> {
    const { events } = await this.commands.run(taskId, { kind: 'CancelWorkflowTask', runId, now: new Date() }, metadata);
    return events.length > 0;
  }
}

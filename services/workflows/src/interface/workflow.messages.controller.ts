/**
 * Workflow and run commands and queries over NATS request/reply. Thin: validate the payload again
 * with the contracts' schema (the gateway is not the only caller), call one handler or query.
 * DomainErrors travel typed (404 for another user's ids, 400 naming the field, 409 for a state
 * that does not allow the command).
 */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { parseOrThrow, rpcCatalog, workflowDefinitionSchema } from '@agentyard/contracts';
import { requestMetadata } from '@agentyard/messaging';
import { WorkflowQueries } from '../application/queries';
import { RunsHandler } from '../application/runs.handler';
import { TemplatesHandler } from '../application/templates.handler';
import { WorkflowsHandler } from '../application/workflows.handler';

/** Subjects and request schemas from the catalog, shared with the gateway's calls. */
const workflowsRpc = rpcCatalog.workflows;

@Controller()
export class WorkflowMessagesController {
  constructor(
    private readonly workflows: WorkflowsHandler,
    private readonly runs: RunsHandler,
    private readonly templates: TemplatesHandler,
    private readonly queries: WorkflowQueries,
  ) {}

  // --- workflows ----------------------------------------------------------------------------

  @MessagePattern(workflowsRpc.create.subject)
  create(@Payload() data: unknown) {
    const { actor, definition } = parseOrThrow(workflowsRpc.create.request, data, 'create-workflow command');
    return this.workflows.create(actor, definition, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.update.subject)
  update(@Payload() data: unknown) {
    const { actor, workflowId, definition } = parseOrThrow(workflowsRpc.update.request, data, 'update-workflow command');
    return this.workflows.update(actor, workflowId, definition, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.delete.subject)
  delete(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowsRpc.delete.request, data, 'delete-workflow command');
    return this.workflows.delete(actor, workflowId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.pause.subject)
  pause(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowsRpc.pause.request, data, 'pause-workflow command');
    return this.workflows.pause(actor, workflowId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.resume.subject)
  resume(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowsRpc.resume.request, data, 'resume-workflow command');
    return this.workflows.resume(actor, workflowId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.execute.subject)
  execute(@Payload() data: unknown) {
    const { actor, workflowId, body } = parseOrThrow(workflowsRpc.execute.request, data, 'execute-workflow command');
    return this.workflows.execute(actor, workflowId, body, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.addSchedule.subject)
  addSchedule(@Payload() data: unknown) {
    const { actor, workflowId, body } = parseOrThrow(workflowsRpc.addSchedule.request, data, 'add-schedule command');
    return this.workflows.addSchedule(actor, workflowId, body, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.removeSchedule.subject)
  removeSchedule(@Payload() data: unknown) {
    const { actor, workflowId, scheduleId } = parseOrThrow(workflowsRpc.removeSchedule.request, data, 'remove-schedule command');
    return this.workflows.removeSchedule(actor, workflowId, scheduleId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.validate.subject)
  validate(@Payload() data: unknown) {
    const { definition } = parseOrThrow(workflowsRpc.validate.request, data, 'validate-workflow query');
    const parsed = workflowDefinitionSchema.safeParse(definition);
    if (!parsed.success)
      return {
        valid: false,
        errors: parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(definition)', message: i.message })),
        graph: null,
      };
    return this.workflows.validate(parsed.data);
  }

  @MessagePattern(workflowsRpc.list.subject)
  list(@Payload() data: unknown) {
    const { actor, query } = parseOrThrow(workflowsRpc.list.request, data, 'list-workflows query');
    return this.queries.listWorkflows(actor.userId, query);
  }

  @MessagePattern(workflowsRpc.get.subject)
  get(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowsRpc.get.request, data, 'get-workflow query');
    return this.queries.getWorkflow(actor.userId, workflowId);
  }

  @MessagePattern(workflowsRpc.getVersion.subject)
  getVersion(@Payload() data: unknown) {
    const { actor, workflowId, version } = parseOrThrow(workflowsRpc.getVersion.request, data, 'get-workflow-version query');
    return this.queries.workflowVersion(actor.userId, workflowId, version);
  }

  @MessagePattern(workflowsRpc.history.subject)
  history(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowsRpc.history.request, data, 'get-workflow-history query');
    return this.queries.workflowHistory(actor.userId, workflowId);
  }

  @MessagePattern(workflowsRpc.listSchedules.subject)
  schedules(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowsRpc.listSchedules.request, data, 'list-schedules query');
    return this.queries.schedules(actor.userId, workflowId);
  }

  // --- runs ---------------------------------------------------------------------------------

  @MessagePattern(workflowsRpc.listRuns.subject)
  listRuns(@Payload() data: unknown) {
    const { actor, workflowId, query } = parseOrThrow(workflowsRpc.listRuns.request, data, 'list-runs query');
    return this.queries.listRuns(actor.userId, workflowId, query);
  }

  @MessagePattern(workflowsRpc.getRun.subject)
  getRun(@Payload() data: unknown) {
    const { actor, runId } = parseOrThrow(workflowsRpc.getRun.request, data, 'get-run query');
    return this.queries.getRun(actor.userId, runId);
  }

  @MessagePattern(workflowsRpc.runHistory.subject)
  runHistory(@Payload() data: unknown) {
    const { actor, runId } = parseOrThrow(workflowsRpc.runHistory.request, data, 'get-run-history query');
    return this.queries.runHistory(actor.userId, runId);
  }

  @MessagePattern(workflowsRpc.pauseRun.subject)
  pauseRun(@Payload() data: unknown) {
    const { actor, runId } = parseOrThrow(workflowsRpc.pauseRun.request, data, 'pause-run command');
    return this.runs.pause(actor, runId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.resumeRun.subject)
  resumeRun(@Payload() data: unknown) {
    const { actor, runId } = parseOrThrow(workflowsRpc.resumeRun.request, data, 'resume-run command');
    return this.runs.resume(actor, runId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.cancelRun.subject)
  cancelRun(@Payload() data: unknown) {
    const { actor, runId } = parseOrThrow(workflowsRpc.cancelRun.request, data, 'cancel-run command');
    return this.runs.cancel(actor, runId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.retryNode.subject)
  retryNode(@Payload() data: unknown) {
    const { actor, runId, nodeId } = parseOrThrow(workflowsRpc.retryNode.request, data, 'retry-node command');
    return this.runs.retryNode(actor, runId, nodeId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.decideApproval.subject)
  decideApproval(@Payload() data: unknown) {
    const { actor, runId, nodeId, body } = parseOrThrow(workflowsRpc.decideApproval.request, data, 'decide-approval command');
    return this.runs.decideApproval(actor, runId, nodeId, body.decision, body.comment, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowsRpc.pickWinner.subject)
  pickWinner(@Payload() data: unknown) {
    const { actor, runId, nodeId, body } = parseOrThrow(workflowsRpc.pickWinner.request, data, 'pick-winner command');
    return this.runs.pickWinner(actor, runId, nodeId, body.winner, requestMetadata(actor.userId));
  }

  // --- templates ----------------------------------------------------------------------------

  @MessagePattern(workflowsRpc.listTemplates.subject)
  listTemplates(@Payload() data: unknown) {
    const { actor } = parseOrThrow(workflowsRpc.listTemplates.request, data, 'list-templates query');
    return this.templates.list(actor);
  }

  @MessagePattern(workflowsRpc.saveTemplate.subject)
  saveTemplate(@Payload() data: unknown) {
    const { actor, body } = parseOrThrow(workflowsRpc.saveTemplate.request, data, 'save-template command');
    return this.templates.save(actor, body);
  }

  @MessagePattern(workflowsRpc.deleteTemplate.subject)
  deleteTemplate(@Payload() data: unknown) {
    const { actor, templateId } = parseOrThrow(workflowsRpc.deleteTemplate.request, data, 'delete-template command');
    return this.templates.delete(actor, templateId);
  }

  @MessagePattern(workflowsRpc.instantiateTemplate.subject)
  instantiateTemplate(@Payload() data: unknown) {
    const { actor, templateId, body } = parseOrThrow(workflowsRpc.instantiateTemplate.request, data, 'instantiate-template command');
    return this.templates.instantiate(actor, templateId, body, requestMetadata(actor.userId));
  }
}

/**
 * Workflow and run commands and queries over NATS request/reply. Thin: validate the payload again
 * with the contracts' schema (the gateway is not the only caller), call one handler or query.
 * DomainErrors travel typed (404 for another user's ids, 400 naming the field, 409 for a state
 * that does not allow the command).
 */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  addScheduleCommandSchema,
  decideApprovalCommandSchema,
  executeWorkflowCommandSchema,
  getWorkflowVersionQuerySchema,
  instantiateTemplateCommandSchema,
  listRunsCommandSchema,
  listWorkflowsCommandSchema,
  nodeRefCommandSchema,
  parseOrThrow,
  pickWinnerCommandSchema,
  removeScheduleCommandSchema,
  runRefCommandSchema,
  saveTemplateCommandSchema,
  saveWorkflowCommandSchema,
  templateRefCommandSchema,
  validateWorkflowQuerySchema,
  workflowDefinitionSchema,
  workflowRefCommandSchema,
  workflowSubjects,
} from '@agentyard/contracts';
import { requestMetadata } from '@agentyard/messaging';
import { WorkflowQueries } from '../application/queries';
import { RunsHandler } from '../application/runs.handler';
import { TemplatesHandler } from '../application/templates.handler';
import { WorkflowsHandler } from '../application/workflows.handler';

@Controller()
export class WorkflowMessagesController {
  constructor(
    private readonly workflows: WorkflowsHandler,
    private readonly runs: RunsHandler,
    private readonly templates: TemplatesHandler,
    private readonly queries: WorkflowQueries,
  ) {}

  // --- workflows ----------------------------------------------------------------------------

  @MessagePattern(workflowSubjects.create)
  create(@Payload() data: unknown) {
    const { actor, definition } = parseOrThrow(saveWorkflowCommandSchema, data, 'create-workflow command');
    return this.workflows.create(actor, definition, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.update)
  update(@Payload() data: unknown) {
    const { actor, workflowId, definition } = parseOrThrow(saveWorkflowCommandSchema.required({ workflowId: true }), data, 'update-workflow command');
    return this.workflows.update(actor, workflowId, definition, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.delete)
  delete(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowRefCommandSchema, data, 'delete-workflow command');
    return this.workflows.delete(actor, workflowId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.pause)
  pause(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowRefCommandSchema, data, 'pause-workflow command');
    return this.workflows.pause(actor, workflowId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.resume)
  resume(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowRefCommandSchema, data, 'resume-workflow command');
    return this.workflows.resume(actor, workflowId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.execute)
  execute(@Payload() data: unknown) {
    const { actor, workflowId, body } = parseOrThrow(executeWorkflowCommandSchema, data, 'execute-workflow command');
    return this.workflows.execute(actor, workflowId, body, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.addSchedule)
  addSchedule(@Payload() data: unknown) {
    const { actor, workflowId, body } = parseOrThrow(addScheduleCommandSchema, data, 'add-schedule command');
    return this.workflows.addSchedule(actor, workflowId, body, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.removeSchedule)
  removeSchedule(@Payload() data: unknown) {
    const { actor, workflowId, scheduleId } = parseOrThrow(removeScheduleCommandSchema, data, 'remove-schedule command');
    return this.workflows.removeSchedule(actor, workflowId, scheduleId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.validate)
  validate(@Payload() data: unknown) {
    const { definition } = parseOrThrow(validateWorkflowQuerySchema, data, 'validate-workflow query');
    const parsed = workflowDefinitionSchema.safeParse(definition);
    if (!parsed.success)
      return {
        valid: false,
        errors: parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(definition)', message: i.message })),
        graph: null,
      };
    return this.workflows.validate(parsed.data);
  }

  @MessagePattern(workflowSubjects.list)
  list(@Payload() data: unknown) {
    const { actor, query } = parseOrThrow(listWorkflowsCommandSchema, data, 'list-workflows query');
    return this.queries.listWorkflows(actor.userId, query);
  }

  @MessagePattern(workflowSubjects.get)
  get(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowRefCommandSchema, data, 'get-workflow query');
    return this.queries.getWorkflow(actor.userId, workflowId);
  }

  @MessagePattern(workflowSubjects.getVersion)
  getVersion(@Payload() data: unknown) {
    const { actor, workflowId, version } = parseOrThrow(getWorkflowVersionQuerySchema, data, 'get-workflow-version query');
    return this.queries.workflowVersion(actor.userId, workflowId, version);
  }

  @MessagePattern(workflowSubjects.history)
  history(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowRefCommandSchema, data, 'get-workflow-history query');
    return this.queries.workflowHistory(actor.userId, workflowId);
  }

  @MessagePattern(workflowSubjects.listSchedules)
  schedules(@Payload() data: unknown) {
    const { actor, workflowId } = parseOrThrow(workflowRefCommandSchema, data, 'list-schedules query');
    return this.queries.schedules(actor.userId, workflowId);
  }

  // --- runs ---------------------------------------------------------------------------------

  @MessagePattern(workflowSubjects.listRuns)
  listRuns(@Payload() data: unknown) {
    const { actor, workflowId, query } = parseOrThrow(listRunsCommandSchema, data, 'list-runs query');
    return this.queries.listRuns(actor.userId, workflowId, query);
  }

  @MessagePattern(workflowSubjects.getRun)
  getRun(@Payload() data: unknown) {
    const { actor, runId } = parseOrThrow(runRefCommandSchema, data, 'get-run query');
    return this.queries.getRun(actor.userId, runId);
  }

  @MessagePattern(workflowSubjects.runHistory)
  runHistory(@Payload() data: unknown) {
    const { actor, runId } = parseOrThrow(runRefCommandSchema, data, 'get-run-history query');
    return this.queries.runHistory(actor.userId, runId);
  }

  @MessagePattern(workflowSubjects.pauseRun)
  pauseRun(@Payload() data: unknown) {
    const { actor, runId } = parseOrThrow(runRefCommandSchema, data, 'pause-run command');
    return this.runs.pause(actor, runId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.resumeRun)
  resumeRun(@Payload() data: unknown) {
    const { actor, runId } = parseOrThrow(runRefCommandSchema, data, 'resume-run command');
    return this.runs.resume(actor, runId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.cancelRun)
  cancelRun(@Payload() data: unknown) {
    const { actor, runId } = parseOrThrow(runRefCommandSchema, data, 'cancel-run command');
    return this.runs.cancel(actor, runId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.retryNode)
  retryNode(@Payload() data: unknown) {
    const { actor, runId, nodeId } = parseOrThrow(nodeRefCommandSchema, data, 'retry-node command');
    return this.runs.retryNode(actor, runId, nodeId, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.decideApproval)
  decideApproval(@Payload() data: unknown) {
    const { actor, runId, nodeId, body } = parseOrThrow(decideApprovalCommandSchema, data, 'decide-approval command');
    return this.runs.decideApproval(actor, runId, nodeId, body.decision, body.comment, requestMetadata(actor.userId));
  }

  @MessagePattern(workflowSubjects.pickWinner)
  pickWinner(@Payload() data: unknown) {
    const { actor, runId, nodeId, body } = parseOrThrow(pickWinnerCommandSchema, data, 'pick-winner command');
    return this.runs.pickWinner(actor, runId, nodeId, body.winner, requestMetadata(actor.userId));
  }

  // --- templates ----------------------------------------------------------------------------

  @MessagePattern(workflowSubjects.listTemplates)
  listTemplates(@Payload() data: unknown) {
    const { actor } = parseOrThrow(listWorkflowsCommandSchema.pick({ actor: true }), data, 'list-templates query');
    return this.templates.list(actor);
  }

  @MessagePattern(workflowSubjects.saveTemplate)
  saveTemplate(@Payload() data: unknown) {
    const { actor, body } = parseOrThrow(saveTemplateCommandSchema, data, 'save-template command');
    return this.templates.save(actor, body);
  }

  @MessagePattern(workflowSubjects.deleteTemplate)
  deleteTemplate(@Payload() data: unknown) {
    const { actor, templateId } = parseOrThrow(templateRefCommandSchema, data, 'delete-template command');
    return this.templates.delete(actor, templateId);
  }

  @MessagePattern(workflowSubjects.instantiateTemplate)
  instantiateTemplate(@Payload() data: unknown) {
    const { actor, templateId, body } = parseOrThrow(instantiateTemplateCommandSchema, data, 'instantiate-template command');
    return this.templates.instantiate(actor, templateId, body, requestMetadata(actor.userId));
  }
}

/*
 * Templates: the built-in starters and the ones users saved. Saving copies a workflow's current
 * definition with named parameters; instantiating substitutes the parameters, checks the result
 * like any definition, creates a workflow from it and, when asked, starts a run.
 */
import { Injectable } from '@nestjs/common';
import {
  DomainError,
  newId,
  type CorrelationMetadata,
  type InstantiatedTemplate,
  type InstantiateTemplateBody,
  type SaveTemplateBody,
  type TemplateView,
} from '@agentyard/contracts';
import type { Actor } from '../domain/run.decide';
import { builtInTemplates, instantiate, type Template } from '../domain/templates';
import { TemplateRepository } from '../infrastructure/template.repository';
import { WorkflowCommandRunner } from './command-runners';
import { WorkflowsHandler } from './workflows.handler';

/** Most templates one user may keep. */
const TEMPLATES_PER_USER = 200;
const builtInCreatedAt = '2026-12-04T00:00:00.000Z';

@Injectable()
export class TemplatesHandler {
  constructor(
    private readonly templates: TemplateRepository,
    private readonly workflows: WorkflowCommandRunner,
    private readonly handler: WorkflowsHandler,
  ) {}

  async list(actor: Actor): Promise<{ items: TemplateView[] }> {
    const own = await this.templates.listOf(actor.userId);
    return { items: [...builtInTemplates.map(builtInView), ...own] };
  }

  async save(actor: Actor, body: SaveTemplateBody): Promise<TemplateView> {
    const { state } = await this.workflows.load(body.workflowId);
    if (!state.exists || state.deleted || state.ownerId !== actor.userId) throw new DomainError('NOT_FOUND', 'no such workflow');
    if ((await this.templates.countOf(actor.userId)) >= TEMPLATES_PER_USER)
      throw new DomainError('CONFLICT', `you have ${TEMPLATES_PER_USER} templates, the most allowed: delete one first`);
    const definition = state.definition!;
    const parameters = body.parameters ?? definition.parameters;
    const template: TemplateView = {
      id: newId(),
      name: body.name ?? definition.name,
      description: body.description ?? definition.description ?? null,
      kind: definition.kind,
      builtIn: false,
      ownerId: actor.userId,
      parameters,
      definition,
      createdAt: new Date().toISOString(),
    };
    // Checked now, with the parameters' defaults, so a template that cannot be instantiated is refused at once.
    instantiate(asTemplate(template), {});
    await this.templates.insert(template);
    return template;
  }

  async delete(actor: Actor, templateId: string): Promise<{ templateId: string; deleted: true }> {
    if (!(await this.templates.delete(actor.userId, templateId))) throw new DomainError('NOT_FOUND', 'no such template (built-in templates cannot be deleted)');
    return { templateId, deleted: true };
  }

  async instantiate(actor: Actor, templateId: string, body: InstantiateTemplateBody, metadata: CorrelationMetadata): Promise<InstantiatedTemplate> {
    const template =
      builtInTemplates.find((t) => t.id === templateId) ?? (await this.templates.findOf(actor.userId, templateId).then((t) => (t ? asTemplate(t) : undefined)));
    if (!template) throw new DomainError('NOT_FOUND', 'no such template');
    const definition = instantiate(template, body.parameters, body.name);
    const workflow = await this.handler.create(actor, definition, metadata);
    const run = body.execute
      ? await this.handler.execute(actor, workflow.id, { input: body.execute.input }, metadata, { kind: 'template', templateId, userId: actor.userId })
      : null;
    return {
      workflow: run
        ? { ...workflow, activeRuns: 1, lastRun: { id: run.id, status: run.status, startedAt: run.startedAt, finishedAt: run.finishedAt } }
        : workflow,
      run,
    };
  }
}

function builtInView(t: (typeof builtInTemplates)[number]): TemplateView {
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    kind: t.kind,
    builtIn: true,
    ownerId: null,
    parameters: t.parameters,
    definition: t.definition as TemplateView['definition'],
    createdAt: builtInCreatedAt,
  };
}

function asTemplate(t: TemplateView): Template {
  return { id: t.id, name: t.name, description: t.description ?? '', kind: t.kind, parameters: t.parameters, definition: t.definition };
}

import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EventStore } from '@agentyard/event-store';
import { ServiceKitModule } from '@agentyard/service-kit';
import { READ_MODEL_SYNC, RunCommandRunner, WORKFLOWS_EVENT_STORE, WorkflowCommandRunner, type ReadModelSync } from './application/command-runners';
import { WorkflowQueries } from './application/queries';
import { RunsHandler } from './application/runs.handler';
import { Scheduler, SCHEDULER_SETTINGS, type SchedulerSettings } from './application/scheduler';
import { TemplatesHandler } from './application/templates.handler';
import { WorkflowsHandler } from './application/workflows.handler';
import { WorkflowMetrics } from './application/workflow.metrics';
import { ReadModelRepository } from './infrastructure/read-model.repository';
import { TemplateRepository } from './infrastructure/template.repository';
import { TaskEventsConsumer } from './interface/task-events.consumer';
import { WorkflowMessagesController } from './interface/workflow.messages.controller';

export interface WorkflowsDeps {
  logger: Logger;
  /** The workflows service's own event store (streams `workflow-<id>`, `run-<id>`). */
  store: EventStore;
  /** The running read-model projection. */
  views: ReadModelSync;
  readModels: ReadModelRepository;
  templates: TemplateRepository;
  scheduler: SchedulerSettings;
  onShutdown: () => Promise<void>;
}

@Module({})
export class WorkflowsModule {
  /** The workflows service's Nest module over its already-opened resources. */
  static forRoot(deps: WorkflowsDeps): DynamicModule {
    return {
      module: WorkflowsModule,
      imports: [ServiceKitModule.forRoot({ logger: deps.logger, onShutdown: deps.onShutdown })],
      controllers: [WorkflowMessagesController, TaskEventsConsumer],
      providers: [
        { provide: WORKFLOWS_EVENT_STORE, useValue: deps.store },
        { provide: READ_MODEL_SYNC, useValue: deps.views },
        { provide: ReadModelRepository, useValue: deps.readModels },
        { provide: TemplateRepository, useValue: deps.templates },
        { provide: SCHEDULER_SETTINGS, useValue: deps.scheduler },
        WorkflowCommandRunner,
        RunCommandRunner,
        WorkflowsHandler,
        RunsHandler,
        TemplatesHandler,
        WorkflowQueries,
        Scheduler,
        WorkflowMetrics,
      ],
    };
  }
}

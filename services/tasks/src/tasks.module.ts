import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EventStore } from '@agentyard/event-store';
import { ServiceKitModule } from '@agentyard/service-kit';
import { ArtifactJanitor } from './application/artifact-janitor';
import { ARTIFACT_SETTINGS, type ArtifactSettings } from './application/artifact.settings';
import { ArtifactQueries } from './application/artifact.query';
import { ARTIFACT_STORE, type ArtifactStore } from './application/artifact-store.port';
import { ArtifactUploadHandler } from './application/artifact-upload.handler';
import { AssignTaskHandler } from './application/assign-task.handler';
import { ChangeTaskHandler } from './application/change-task.handler';
import { CreateTaskHandler } from './application/create-task.handler';
import { GetTaskQuery } from './application/get-task.query';
import { ListTasksQueryHandler } from './application/list-tasks.query';
import { PullTaskQuery } from './application/pull-task.query';
import { RecordWorkReportHandler } from './application/record-work-report.handler';
import { RequeueWorkerTasksHandler } from './application/requeue-worker-tasks.handler';
import { TaskSecretRefsQuery } from './application/task-secret-refs.query';
import {
  AFTER_APPEND,
  nudgeView,
  TASK_EVENT_STORE,
  TASK_VIEW_SYNC,
  TaskCommandRunner,
  type AfterAppend,
  type TaskViewSync,
} from './application/task-command.runner';
import { TASKS_SETTINGS, type TasksSettings } from './application/tasks.settings';
import { TimeoutScanner } from './application/timeout-scanner';
import { WORK_ORDERS, WorkDispatcher, type WorkOrderSink } from './application/work-dispatcher';
import { WorkflowTaskHandler } from './application/workflow-task.handler';
import { TaskViewRepository } from './infrastructure/task-view.repository';
import { UsageRepository } from './infrastructure/usage.repository';
import { UsageQueryHandler } from './application/usage.query';
import { ArtifactController } from './interface/artifact.controller';
import { TaskCommandsController } from './interface/task.commands.controller';
import { TaskEventsConsumer } from './interface/task.events.consumer';
import { TaskQueriesController } from './interface/task.queries.controller';

export interface TasksDeps {
  logger: Logger;
  /** The tasks service's own event store (streams `task-<id>`). */
  store: EventStore;
  /** The running task_view projection. */
  view: TaskViewSync;
  repository: TaskViewRepository;
  usage: UsageRepository;
  workOrders: WorkOrderSink;
  settings: TasksSettings;
  /** Where logs and artifacts are kept (Postgres or S3) and their limits. */
  artifacts: { store: ArtifactStore; settings: ArtifactSettings };
  onShutdown: () => Promise<void>;
}

@Module({})
export class TasksModule {
  /** The tasks service's Nest module over its already-opened resources (database, store, NATS). */
  static forRoot(deps: TasksDeps): DynamicModule {
    return {
      module: TasksModule,
      imports: [ServiceKitModule.forRoot({ logger: deps.logger, onShutdown: deps.onShutdown })],
      controllers: [TaskCommandsController, TaskQueriesController, TaskEventsConsumer, ArtifactController],
      providers: [
        { provide: TASK_EVENT_STORE, useValue: deps.store },
        { provide: TASK_VIEW_SYNC, useValue: deps.view },
        { provide: TaskViewRepository, useValue: deps.repository },
        { provide: UsageRepository, useValue: deps.usage },
        { provide: WORK_ORDERS, useValue: deps.workOrders },
        { provide: TASKS_SETTINGS, useValue: deps.settings },
        { provide: ARTIFACT_STORE, useValue: deps.artifacts.store },
        { provide: ARTIFACT_SETTINGS, useValue: deps.artifacts.settings },
        TaskCommandRunner,
        {
          // After a task's events are stored, in this order: the task_view projection is nudged,
          // work orders go to the agents (the dispatcher's fast path), a deleted task's artifacts go.
          provide: AFTER_APPEND,
          useFactory: (view: TaskViewSync, dispatcher: WorkDispatcher, janitor: ArtifactJanitor): AfterAppend[] => [
            nudgeView(view),
            (events, state) => dispatcher.dispatchAppended(events, state),
            (events, state) => janitor.onAppended(events, state),
          ],
          inject: [TASK_VIEW_SYNC, WorkDispatcher, ArtifactJanitor],
        },
        CreateTaskHandler,
        ChangeTaskHandler,
        AssignTaskHandler,
        RecordWorkReportHandler,
        RequeueWorkerTasksHandler,
        WorkflowTaskHandler,
        WorkDispatcher,
        TimeoutScanner,
        GetTaskQuery,
        ListTasksQueryHandler,
        PullTaskQuery,
        TaskSecretRefsQuery,
        UsageQueryHandler,
        ArtifactUploadHandler,
        ArtifactQueries,
        ArtifactJanitor,
      ],
    };
  }
}

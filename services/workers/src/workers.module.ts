import { Module, type DynamicModule } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ProjectionRunner } from '@agentyard/event-sourcing';
import type { PostgresEventStore } from '@agentyard/event-store';
import { ServiceKitModule } from '@agentyard/service-kit';
import { AuthenticateWorkerQuery } from './application/authenticate-worker.query';
import { CreateRegistrationTokenHandler } from './application/create-registration-token.handler';
import { GetWorkerQuery } from './application/get-worker.query';
import { ListWorkersQuery } from './application/list-workers.query';
import { LivenessSweeper } from './application/liveness-sweeper';
import { GrantWorkerRoleHandler, RevokeWorkerCredentialHandler, SetWorkerDrainedHandler } from './application/manage-worker.handlers';
import { RecordHeartbeatHandler } from './application/record-heartbeat.handler';
import { IssueNatsCredentialsHandler, WORKER_NATS_ISSUER, type WorkerNatsIssuer } from './application/issue-nats-credentials.handler';
import { RegisterWorkerHandler } from './application/register-worker.handler';
import { WORKERS_SETTINGS, type WorkersSettings } from './application/request-context';
import { WORKER_EVENT_STORE, WORKER_VIEW_PROJECTION, WorkerCommands } from './application/worker-commands';
import { LivenessBucket } from './infrastructure/liveness-bucket';
import { RegistrationTokenRepository } from './infrastructure/registration-token.repository';
import { WorkConsumers } from './infrastructure/work-consumers';
import { WorkerCredentialRepository } from './infrastructure/worker-credential.repository';
import { WORKERS_DB, WorkerViewRepository } from './infrastructure/worker-view.repository';
import type { WorkersDatabase } from './infrastructure/workers.database';
import { HeartbeatListener } from './interface/heartbeat.listener';
import { WorkersController } from './interface/workers.controller';

export interface WorkersDeps {
  logger: Logger;
  settings: WorkersSettings;
  db: Kysely<WorkersDatabase>;
  store: PostgresEventStore;
  projection: ProjectionRunner<WorkersDatabase>;
  views: WorkerViewRepository;
  liveness: LivenessBucket;
  consumers: WorkConsumers;
  /** Mints workers' NATS credentials; none when NATS runs without auth. */
  natsIssuer?: WorkerNatsIssuer;
  /** Runs after every provider's shutdown hooks: stop background loops, drain NATS, close pools. */
  onShutdown: () => Promise<void>;
}

@Module({})
export class WorkersModule {
  /** The workers service's Nest module over its already-opened resources (database, store, NATS). */
  static forRoot(deps: WorkersDeps): DynamicModule {
    return {
      module: WorkersModule,
      imports: [ServiceKitModule.forRoot({ logger: deps.logger, onShutdown: deps.onShutdown })],
      controllers: [WorkersController, HeartbeatListener],
      providers: [
        { provide: WORKERS_DB, useValue: deps.db },
        { provide: WORKERS_SETTINGS, useValue: deps.settings },
        { provide: WORKER_EVENT_STORE, useValue: deps.store },
        { provide: WORKER_VIEW_PROJECTION, useValue: deps.projection },
        { provide: WorkerViewRepository, useValue: deps.views },
        { provide: LivenessBucket, useValue: deps.liveness },
        { provide: WorkConsumers, useValue: deps.consumers },
        { provide: WORKER_NATS_ISSUER, useValue: deps.natsIssuer ?? null },
        RegistrationTokenRepository,
        WorkerCredentialRepository,
        WorkerCommands,
        CreateRegistrationTokenHandler,
        RegisterWorkerHandler,
        AuthenticateWorkerQuery,
        RecordHeartbeatHandler,
        IssueNatsCredentialsHandler,
        SetWorkerDrainedHandler,
        GrantWorkerRoleHandler,
        RevokeWorkerCredentialHandler,
        GetWorkerQuery,
        ListWorkersQuery,
        LivenessSweeper,
      ],
    };
  }
}

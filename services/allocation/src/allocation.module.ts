import { Module, type DynamicModule } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { EventStore } from '@agentyard/event-store';
import { ServiceKitModule } from '@agentyard/service-kit';
import { AllocationLoop } from './application/allocation-loop';
import { GetAllocationQuery } from './application/get-allocation.query';
import { LIVE_HEARTBEATS, type LiveHeartbeats } from './application/live-heartbeats';
import { ProjectEventsHandler } from './application/project-events.handler';
import { RecordAllocationHandler } from './application/record-allocation.handler';
import { ALLOCATION_SETTINGS, EVENT_STORE, type AllocationSettings } from './application/tokens';
import type { AllocationDatabase } from './infrastructure/allocation.database';
import { ALLOCATION_DB, TaskRepository } from './infrastructure/task.repository';
import { WorkerRepository } from './infrastructure/worker.repository';
import { AllocationEventsConsumer } from './interface/allocation.events.consumer';
import { AllocationQueriesController } from './interface/allocation.queries.controller';

export interface AllocationDeps {
  logger: Logger;
  db: Kysely<AllocationDatabase>;
  store: EventStore;
  heartbeats: LiveHeartbeats;
  settings: AllocationSettings;
  /** Closes what main opened (relay, watcher, NATS, store, database), after the loop stopped. */
  onShutdown: () => Promise<void>;
}

@Module({})
export class AllocationModule {
  /** Allocation's Nest module over its already-opened resources. */
  static forRoot(deps: AllocationDeps): DynamicModule {
    return {
      module: AllocationModule,
      imports: [ServiceKitModule.forRoot({ logger: deps.logger, onShutdown: deps.onShutdown })],
      controllers: [AllocationQueriesController, AllocationEventsConsumer],
      providers: [
        { provide: ALLOCATION_DB, useValue: deps.db },
        { provide: EVENT_STORE, useValue: deps.store },
        { provide: LIVE_HEARTBEATS, useValue: deps.heartbeats },
        { provide: ALLOCATION_SETTINGS, useValue: deps.settings },
        TaskRepository,
        WorkerRepository,
        RecordAllocationHandler,
        ProjectEventsHandler,
        GetAllocationQuery,
        AllocationLoop,
      ],
    };
  }
}

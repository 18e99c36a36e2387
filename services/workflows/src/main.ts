/*
 * The workflows service: `workflow-<id>` (versioned definitions, schedules) and `run-<id>`
 * (one stream per run, driven by the pure run decider) event streams in its own Postgres
 * database, the read models projected from them, NATS request/reply for workflow and run
 * commands and queries, a durable consumer of its runs' task events (TASKS), the scheduler
 * (cron fires, approval defaults, run time limits), and the relay that forwards its events to the
 * WORKFLOWS stream — where the tasks service creates and cancels the nodes' tasks. No RPC to
 * other backend services. Design: docs/design/workflows.md.
 */
import 'reflect-metadata';
import { eventSubject, streamName, type Envelope } from '@agentyard/contracts';
import { PostgresCheckpointStore, PostgresEventStore, PostgresLeases, serviceLease } from '@agentyard/event-store';
import { connectNats, drainNats, NatsJetStreamServer, RpcErrorPassthroughFilter, relayingWork } from '@agentyard/messaging';
import {
  bootstrapService,
  createLogger,
  exposeLease,
  HealthRegistry,
  loadConfig,
  MetricsRegistry,
  natsCheck,
  postgresCheck,
  runMain,
} from '@agentyard/service-kit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Scheduler } from './application/scheduler';
import { workflowsConfigSchema } from './config';
import { ReadModelRepository } from './infrastructure/read-model.repository';
import { ReadModelRunner } from './infrastructure/read-model.runner';
import { provisionStreams } from './infrastructure/streams';
import { TemplateRepository } from './infrastructure/template.repository';
import { migrateWorkflowsDatabase, openWorkflowsDatabase } from './infrastructure/workflows.database';
import { workflowEventConsumers } from './interface/event-consumers';
import { WorkflowsModule } from './workflows.module';

/** Subject of one of our events: run events are keyed by run, workflow events by workflow. */
export function workflowsSubjectFor(e: Envelope): string {
  return eventSubject('workflows', e.type, e.streamId.slice(e.streamId.indexOf('-') + 1));
}

async function main(): Promise<void> {
  const config = loadConfig(workflowsConfigSchema);
  const logger = createLogger('workflows', config.LOG_LEVEL);

  const db = openWorkflowsDatabase(config.DATABASE_URL);
  const store = await PostgresEventStore.connect({ connectionString: config.DATABASE_URL, poolSize: 10 });
  await store.migrate();
  await migrateWorkflowsDatabase(db);
  const checkpoints = PostgresCheckpointStore.fromKysely(db);
  const views = new ReadModelRunner({ store, db, checkpoints, onError: (error) => logger.error({ err: error }, 'workflows read models failed; retrying') });

  const nc = await connectNats({ servers: config.NATS_URL, name: 'workflows', credsFile: config.NATS_CREDS_FILE });
  await provisionStreams(await jetstreamManager(nc));
  const transport = new NatsJetStreamServer({ name: 'workflows', connection: nc, consumers: workflowEventConsumers, deferConsumers: true });
  // Set once Nest is up (the lease is taken only after that): the lease's work reaches its providers through it.
  const nest: { app?: Awaited<ReturnType<typeof bootstrapService>> } = {};
  const lease = serviceLease({
    leases: PostgresLeases.fromKysely(db),
    service: 'workflows',
    port: config.HTTP_PORT,
    ttlMs: config.LEASE_TTL_MS,
    logger,
    work: relayingWork({
      relay: {
        name: 'relay:workflows',
        stream: streamName('workflows'),
        store,
        checkpoints: checkpoints,
        js: jetstream(nc),
        connection: nc,
        subjectFor: workflowsSubjectFor,
        logger: { error: (m) => logger.error(m) },
      },
      start: async () => {
        await transport.startConsumers();
        await nest.app!.get(Scheduler).start();
      },
      stop: () => Promise.all([transport.stopConsumers(), nest.app?.get(Scheduler).stop()]),
    }),
  });

  views.start();
  const app = await bootstrapService({
    name: 'workflows',
    module: WorkflowsModule.forRoot({
      logger,
      store,
      views,
      readModels: new ReadModelRepository(db),
      templates: new TemplateRepository(db),
      scheduler: { intervalMs: config.SCHEDULER_INTERVAL_MS, missedAfterMs: config.SCHEDULE_MISSED_AFTER_MS },
      onShutdown: async () => {
        await lease.stop(); // releases the lease: a standby takes over at once
        await views.stop();
        await drainNats(nc);
        await store.close();
        await db.destroy();
      },
    }),
    port: config.HTTP_PORT,
    logger,
    transport,
    transportFilters: [new RpcErrorPassthroughFilter()],
    shutdownTimeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    healthChecks: { postgres: postgresCheck(db), nats: natsCheck(nc) },
  });
  nest.app = app;
  exposeLease(app.get(HealthRegistry), app.get(MetricsRegistry), lease);
  lease.start();
  logger.info({ port: config.HTTP_PORT }, 'workflows ready');
}

runMain('workflows', main);

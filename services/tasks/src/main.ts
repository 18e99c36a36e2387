/*
 * The tasks service: `task-<id>` event streams in its own Postgres database (the store of
 * record), the task_view read model projected from them, NATS request/reply for task commands
 * and queries, durable JetStream consumers for allocation decisions, worker reports, workers
 * going offline and workflow runs' node events, the dispatcher that turns task events into work orders, the timeout scanner,
 * and the relay that forwards its events to the TASKS stream. Flows: docs/design/tasks-on-workers.md.
 *
 * Replicas: request handlers and the task_view projection run on every replica; the relay, the
 * JetStream consumers (whose handlers depend on order), the timeout scanner and the artifact
 * janitor run only on the holder of the `tasks-leader` lease (LeaseKeeper), and the relay's
 * checkpoint saves carry its epoch.
 */
import 'reflect-metadata';
import { streamName } from '@agentyard/contracts';
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
import { ArtifactJanitor } from './application/artifact-janitor';
import type { ArtifactStore } from './application/artifact-store.port';
import { TimeoutScanner } from './application/timeout-scanner';
import { artifactSettingsOf, s3OptionsOf, settingsOf, tasksConfigSchema } from './config';
import { PostgresArtifactStore } from './infrastructure/postgres-artifact.store';
import { S3ArtifactStore } from './infrastructure/s3-artifact.store';
import { provisionStreams } from './infrastructure/streams';
import { migrateTasksDatabase, openTasksDatabase } from './infrastructure/tasks.database';
import { TaskViewRepository } from './infrastructure/task-view.repository';
import { UsageRepository } from './infrastructure/usage.repository';
import { taskEventSubject } from './infrastructure/task-event-subject';
import { TaskViewRunner } from './infrastructure/task-view.runner';
import { WorkOrderPublisher } from './infrastructure/work-order.publisher';
import { taskEventConsumers } from './interface/event-consumers';
import { TasksModule } from './tasks.module';

async function main(): Promise<void> {
  const config = loadConfig(tasksConfigSchema);
  const logger = createLogger('tasks', config.LOG_LEVEL);
  const settings = settingsOf(config);

  const db = openTasksDatabase(config.DATABASE_URL);
  const store = await PostgresEventStore.connect({ connectionString: config.DATABASE_URL, poolSize: 10 });
  await store.migrate();
  await migrateTasksDatabase(db);
  const checkpoints = PostgresCheckpointStore.fromKysely(db);
  const s3 = config.ARTIFACT_STORE === 's3' ? new S3ArtifactStore(s3OptionsOf(config)) : undefined;
  const artifactStore: ArtifactStore = s3 ?? new PostgresArtifactStore(db);
  const view = new TaskViewRunner({ store, db, checkpoints, onError: (error) => logger.error({ err: error }, 'task_view projection failed; retrying') });

  const nc = await connectNats({ servers: config.NATS_URL, name: 'tasks', credsFile: config.NATS_CREDS_FILE });
  await provisionStreams(await jetstreamManager(nc));
  const js = jetstream(nc);
  const transport = new NatsJetStreamServer({ name: 'tasks', connection: nc, consumers: taskEventConsumers(settings), deferConsumers: true });
  // Set once Nest is up (the lease is taken only after that): the lease's work reaches its providers through it.
  const nest: { app?: Awaited<ReturnType<typeof bootstrapService>> } = {};
  const lease = serviceLease({
    leases: PostgresLeases.fromKysely(db),
    service: 'tasks',
    port: config.HTTP_PORT,
    ttlMs: config.LEASE_TTL_MS,
    logger,
    work: relayingWork({
      relay: {
        name: 'relay:tasks',
        stream: streamName('tasks'),
        store,
        checkpoints: checkpoints,
        js,
        connection: nc,
        subjectFor: taskEventSubject,
        logger: { error: (m) => logger.error(m) },
      },
      start: async () => {
        await transport.startConsumers();
        nest.app!.get(TimeoutScanner).start();
        nest.app!.get(ArtifactJanitor).start();
      },
      stop: () => Promise.all([transport.stopConsumers(), nest.app?.get(TimeoutScanner).stop(), nest.app?.get(ArtifactJanitor).stop()]),
    }),
  });

  // Projecting before serving: the first list and the first worker-offline query see a warm view.
  view.start();
  const app = await bootstrapService({
    name: 'tasks',
    module: TasksModule.forRoot({
      logger,
      store,
      view,
      repository: new TaskViewRepository(db),
      usage: new UsageRepository(db),
      workOrders: new WorkOrderPublisher(js, { connection: nc }),
      settings,
      artifacts: { store: artifactStore, settings: artifactSettingsOf(config) },
      onShutdown: async () => {
        await lease.stop(); // releases the lease: a standby takes over at once
        await view.stop();
        await drainNats(nc);
        await store.close();
        s3?.close();
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
  logger.info({ port: config.HTTP_PORT, settings, artifactStore: config.ARTIFACT_STORE }, 'tasks ready');
}

runMain('tasks', main);

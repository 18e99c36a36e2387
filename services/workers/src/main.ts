/*
 * The workers service: registration tokens, worker registration and credentials, heartbeats and
 * liveness, and the `worker-<id>` event streams, in its own Postgres database. It answers the
 * gateway over NATS request/reply, listens to `work.heartbeat.*`, writes the `worker-liveness`
 * KV bucket, creates each worker's WORK consumer, and its relay forwards its events to the
 * WORKERS JetStream stream. Read models are projected from its own store.
 */
import 'reflect-metadata';
import { eventSubject, streamName, type Envelope } from '@agentyard/contracts';
import { PostgresCheckpointStore, PostgresEventStore, PostgresLeases, serviceLease } from '@agentyard/event-store';
import { connectNats, drainNats, ensureStream, eventStreamConfig, NatsJetStreamServer, RpcErrorPassthroughFilter, relayingWork } from '@agentyard/messaging';
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
import { LivenessSweeper } from './application/liveness-sweeper';
import { createWorkerViewProjection, workerIdOf } from './application/worker-view.projection';
import { workersConfigSchema } from './config';
import { AgentPackageReader } from './infrastructure/agent-package.reader';
import { LivenessBucket } from './infrastructure/liveness-bucket';
import { WorkConsumers } from './infrastructure/work-consumers';
import { ScopedKeyWorkerNatsIssuer } from './infrastructure/worker-nats-issuer';
import { WorkerViewRepository } from './infrastructure/worker-view.repository';
import { migrateWorkersDatabase, openWorkersDatabase } from './infrastructure/workers.database';
import { WorkersModule } from './workers.module';

async function main(): Promise<void> {
  const config = loadConfig(workersConfigSchema);
  const logger = createLogger('workers', config.LOG_LEVEL);

  const db = openWorkersDatabase(config.DATABASE_URL);
  await migrateWorkersDatabase(db);
  const store = await PostgresEventStore.connect({ connectionString: config.DATABASE_URL, poolSize: 4 });
  await store.migrate();
  const views = new WorkerViewRepository(db);
  const projection = createWorkerViewProjection({
    store,
    db,
    views,
    onError: (error) => logger.error({ err: error }, 'worker_view projection failed; retrying'),
  });

  const nc = await connectNats({ servers: config.NATS_URL, name: 'workers', credsFile: config.NATS_CREDS_FILE });
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, eventStreamConfig('workers'));
  const consumers = await WorkConsumers.open(jsm);
  const liveness = await LivenessBucket.open(nc, config.LIVENESS_TTL_MS, (message) => logger.warn(message));
  const transport = new NatsJetStreamServer({ name: 'workers', connection: nc });
  // Set once Nest is up (the lease is taken only after that): the lease's work reaches its providers through it.
  const nest: { app?: Awaited<ReturnType<typeof bootstrapService>> } = {};
  const lease = serviceLease({
    leases: PostgresLeases.fromKysely(db),
    service: 'workers',
    port: config.HTTP_PORT,
    ttlMs: config.LEASE_TTL_MS,
    logger,
    work: relayingWork({
      relay: {
        name: 'relay:workers',
        stream: streamName('workers'),
        store,
        checkpoints: PostgresCheckpointStore.fromKysely(db),
        js: jetstream(nc),
        connection: nc,
        subjectFor: (e: Envelope) => eventSubject('workers', e.type, workerIdOf(e) ?? e.streamId.replace(/^worker-/, '')),
        logger: { error: (m) => logger.error(m) },
      },
      start: () => nest.app!.get(LivenessSweeper).start(),
      stop: async () => nest.app?.get(LivenessSweeper).stop(),
    }),
  });

  const agentPackage = new AgentPackageReader(config.DOWNLOADS_DIR);
  projection.start();
  const app = await bootstrapService({
    name: 'workers',
    module: WorkersModule.forRoot({
      logger,
      settings: {
        publicUrl: config.PUBLIC_URL.replace(/\/+$/, ''),
        agentPackage,
        natsPublicUrl: config.NATS_PUBLIC_URL,
        heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
        offlineAfterMs: config.OFFLINE_AFTER_MS,
        sweepIntervalMs: config.SWEEP_INTERVAL_MS,
      },
      db,
      store,
      projection,
      views,
      liveness,
      consumers,
      natsIssuer:
        config.WORKER_NATS_ACCOUNT && config.WORKER_NATS_SIGNING_SEED
          ? new ScopedKeyWorkerNatsIssuer({
              accountPublicKey: config.WORKER_NATS_ACCOUNT,
              workerSigningSeed: config.WORKER_NATS_SIGNING_SEED,
              ttlSeconds: config.WORKER_NATS_CREDS_TTL_SECONDS,
            })
          : undefined,
      onShutdown: async () => {
        await lease.stop(); // releases the lease: a standby takes over at once
        await projection.stop();
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
  if (config.NATS_CREDS_FILE && !config.WORKER_NATS_ACCOUNT) {
    // Likely an operator-mode NATS whose workers' key was not passed on: agents would get no
    // credentials, connect anonymously and be refused.
    logger.warn(
      'NATS_CREDS_FILE is set but WORKER_NATS_ACCOUNT / WORKER_NATS_SIGNING_SEED are not: agents get no NATS credentials and a NATS that requires them will refuse the agents',
    );
  }
  if (!agentPackage.current()) {
    logger.warn(
      { downloadsDir: config.DOWNLOADS_DIR },
      'no worker agent package in DOWNLOADS_DIR (node infra/scripts/build.mjs): the install command cannot install an agent',
    );
  }
  logger.info({ port: config.HTTP_PORT }, 'workers ready');
}

runMain('workers', main);

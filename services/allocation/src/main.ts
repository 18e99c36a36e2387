/*
 * The allocation service: consumes task and worker events (TASKS, WORKERS) into its own read
 * models, watches worker liveness (KV `worker-liveness`), decides where each queued task runs and
 * records every decision in its own event store (`allocation-<taskId>`); the relay forwards those
 * to the ALLOCATION stream. Answers `allocation.queries.get-allocation`.
 *
 * Replicas: every replica answers queries; the holder of the `allocation-leader` lease alone runs
 * the consumers that feed the read models, the heartbeat watcher, the loop (whose picture of the
 * workers is in memory) and the relay. Every decision is appended through a store fenced by the
 * lease's epoch, so a holder paused past its lease cannot place a task on a slot the new holder
 * already filled; a replica not holding the lease appends nothing.
 */
import 'reflect-metadata';
import { eventSubject, streamName, workerLivenessBucket, type Envelope } from '@agentyard/contracts';
import { PostgresCheckpointStore, PostgresEventStore, PostgresLeases, serviceLease, type EventStore } from '@agentyard/event-store';
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
import { AllocationModule } from './allocation.module';
import { AllocationLoop } from './application/allocation-loop';
import { allocationConfigSchema } from './config';
import { migrateAllocationDatabase, openAllocationDatabase } from './infrastructure/allocation.database';
import { HeartbeatWatcher } from './infrastructure/heartbeat-watcher';
import { allocationConsumers } from './interface/event-consumers';

async function main(): Promise<void> {
  const config = loadConfig(allocationConfigSchema);
  const logger = createLogger('allocation', config.LOG_LEVEL);

  const db = openAllocationDatabase(config.DATABASE_URL);
  await migrateAllocationDatabase(db);
  const store = await PostgresEventStore.connect({ connectionString: config.DATABASE_URL, poolSize: 8 });
  await store.migrate();

  const nc = await connectNats({ servers: config.NATS_URL, name: 'allocation', credsFile: config.NATS_CREDS_FILE });
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, eventStreamConfig('allocation'));
  // TASKS and WORKERS, which it consumes, are created when absent by the transporter (event-consumers.ts).

  const heartbeats = new HeartbeatWatcher(nc, { bucket: workerLivenessBucket, logger: { warn: (m) => logger.warn(m), info: (m) => logger.info(m) } });
  const transport = new NatsJetStreamServer({ name: 'allocation', connection: nc, consumers: allocationConsumers, deferConsumers: true });
  // Set once Nest is up (the lease is taken only after that): the lease's work reaches its providers through it.
  const nest: { app?: Awaited<ReturnType<typeof bootstrapService>> } = {};
  // The store the module appends through: fenced by the current tenure's epoch, refusing while this replica holds none.
  let fenced: EventStore | undefined;
  const decisions: EventStore = {
    appendToStream: (streamId, events, options) =>
      fenced
        ? fenced.appendToStream(streamId, events, options)
        : Promise.reject(new Error('allocation: this replica does not hold the allocation-leader lease')),
    readStream: (streamId, options) => store.readStream(streamId, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options) => store.subscribeToAll(options),
    close: () => store.close(),
  };
  const lease = serviceLease({
    leases: PostgresLeases.fromKysely(db),
    service: 'allocation',
    port: config.HTTP_PORT,
    ttlMs: config.LEASE_TTL_MS,
    logger,
    work: relayingWork({
      relay: {
        name: 'relay:allocation',
        stream: streamName('allocation'),
        store,
        checkpoints: PostgresCheckpointStore.fromKysely(db),
        js: jetstream(nc),
        connection: nc,
        subjectFor: (e: Envelope) => eventSubject('allocation', e.type, String(e.data.taskId ?? e.streamId.replace(/^allocation-/, ''))),
        logger: { error: (m) => logger.error(m) },
      },
      start: async (fence) => {
        fenced = store.fenced(fence);
        heartbeats.start();
        await transport.startConsumers();
        nest.app!.get(AllocationLoop).start();
      },
      stop: () => {
        fenced = undefined;
        return Promise.all([nest.app?.get(AllocationLoop).stop(), transport.stopConsumers(), heartbeats.stop()]);
      },
    }),
  });

  const app = await bootstrapService({
    name: 'allocation',
    module: AllocationModule.forRoot({
      logger,
      db,
      store: decisions,
      heartbeats,
      settings: { safetyNetIntervalMs: config.SAFETY_NET_INTERVAL_MS, batchSize: config.ALLOCATION_PAGE_SIZE },
      onShutdown: async () => {
        await lease.stop(); // releases the lease: a standby takes over at once
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
  logger.info({ port: config.HTTP_PORT }, 'allocation ready');
}

runMain('allocation', main);

/*
 * The allocation service: consumes task and worker events (TASKS, WORKERS) into its own read
 * models, watches worker liveness (KV `worker-liveness`), decides where each queued task runs and
 * records every decision in its own event store (`allocation-<taskId>`); the relay forwards those
 * to the ALLOCATION stream. Answers `allocation.queries.get-allocation`.
 */
import 'reflect-metadata';
import { eventSubject, streamName, workerLivenessBucket, type Context, type Envelope } from '@agentyard/contracts';
import { PostgresCheckpointStore, PostgresEventStore } from '@agentyard/event-store';
import { connectNats, drainNats, ensureStream, eventStreamConfig, EventRelay, NatsJetStreamServer, RpcErrorPassthroughFilter } from '@agentyard/messaging';
import { bootstrapService, createLogger, loadConfig, natsCheck, postgresCheck, runMain } from '@agentyard/service-kit';
import { JetStreamApiError, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { AllocationModule } from './allocation.module';
import { AllocationLoop } from './application/allocation-loop';
import { allocationConfigSchema } from './config';
import { migrateAllocationDatabase, openAllocationDatabase } from './infrastructure/allocation.database';
import { HeartbeatWatcher } from './infrastructure/heartbeat-watcher';
import { allocationConsumers } from './interface/allocation.events.consumer';

/**
 * Creates a stream we consume when absent, so allocation can boot before its producer. An
 * existing stream is left exactly as its owner configured it (ensureStream would "correct" it).
 */
async function ensureStreamExists(jsm: JetStreamManager, context: Context): Promise<void> {
  try {
    await jsm.streams.info(streamName(context));
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== 10059) throw error;
    await ensureStream(jsm, eventStreamConfig(context));
  }
}

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
  await ensureStreamExists(jsm, 'tasks');
  await ensureStreamExists(jsm, 'workers');

  const heartbeats = new HeartbeatWatcher(nc, { bucket: workerLivenessBucket, logger: { warn: (m) => logger.warn(m), info: (m) => logger.info(m) } });
  const relay = new EventRelay({
    name: 'relay:allocation',
    stream: streamName('allocation'),
    store,
    checkpoints: PostgresCheckpointStore.fromKysely(db),
    js: jetstream(nc),
    subjectFor: (e: Envelope) => eventSubject('allocation', e.type, String(e.data.taskId ?? e.streamId.replace(/^allocation-/, ''))),
    logger: { error: (m) => logger.error(m) },
  });

  const app = await bootstrapService({
    name: 'allocation',
    module: AllocationModule.forRoot({
      logger,
      db,
      store,
      heartbeats,
      settings: { safetyNetIntervalMs: config.SAFETY_NET_INTERVAL_MS, batchSize: config.ALLOCATION_PAGE_SIZE },
      onShutdown: async () => {
        await heartbeats.stop();
        await relay.stop();
        await drainNats(nc);
        await store.close();
        await db.destroy();
      },
    }),
    port: config.HTTP_PORT,
    logger,
    transport: new NatsJetStreamServer({ name: 'allocation', connection: nc, consumers: allocationConsumers }),
    transportFilters: [new RpcErrorPassthroughFilter()],
    shutdownTimeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    healthChecks: { postgres: postgresCheck(db), nats: natsCheck(nc) },
  });
  heartbeats.start();
  relay.start();
  app.get(AllocationLoop).start();
  logger.info({ port: config.HTTP_PORT }, 'allocation ready');
}

runMain('allocation', main);

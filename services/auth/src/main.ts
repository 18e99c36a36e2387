/*
 * The auth service: users, sessions and tokens in its own Postgres database; answers the
 * gateway over NATS request/reply; its events go to its event store in the same transaction as
 * the rows (the outbox) and the relay forwards them to the AUTH JetStream stream.
 */
import 'reflect-metadata';
import { eventSubject, jwtSettings, revokedFamiliesBucket, revokedTokensBucket, streamName, type Envelope } from '@agentyard/contracts';
import { openPool, PostgresCheckpointStore, PostgresEventStore, PostgresLeases, serviceLease } from '@agentyard/event-store';
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
  RevocationList,
  runMain,
} from '@agentyard/service-kit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { SecretsHandler } from './application/secrets.handler';
import { AuthModule } from './auth.module';
import { authConfigSchema } from './config';
import { migrateAuthDatabase, openAuthDatabase } from './infrastructure/auth.database';
import { defaultLoginLimits, LoginRateLimiter } from './infrastructure/login-rate-limiter';
import { SecretCipher } from './infrastructure/secret-cipher';
import { TokenIssuer } from './infrastructure/token-issuer';

async function main(): Promise<void> {
  const config = loadConfig(authConfigSchema);
  const logger = createLogger('auth', config.LOG_LEVEL);

  const db = openAuthDatabase(config.DATABASE_URL);
  await migrateAuthDatabase(db);
  const store = await PostgresEventStore.connect({ connectionString: config.DATABASE_URL, poolSize: 2 });
  await store.migrate();
  const limiterPool = openPool({ connectionString: config.DATABASE_URL, max: 4 });
  const limiter = await LoginRateLimiter.create(limiterPool, {
    ...defaultLoginLimits,
    perIpPoints: config.LOGIN_MAX_ATTEMPTS_PER_IP,
    perAccountFailures: config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
    registrationsPerIp: config.REGISTRATIONS_PER_IP_PER_HOUR,
  });
  const tokens = new TokenIssuer(db, config.ACCESS_TOKEN_TTL_SECONDS);
  await tokens.init();
  const cipher = new SecretCipher(config.SECRETS_MASTER_KEY, config.SECRETS_PREVIOUS_MASTER_KEYS);

  const nc = await connectNats({ servers: config.NATS_URL, name: 'auth', credsFile: config.NATS_CREDS_FILE });
  await ensureStream(await jetstreamManager(nc), eventStreamConfig('auth'));
  const revocations = await RevocationList.open(nc, revokedTokensBucket, jwtSettings.accessTtlSeconds * 1000);
  const revokedFamilies = await RevocationList.open(nc, revokedFamiliesBucket, jwtSettings.accessTtlSeconds * 1000);
  const transport = new NatsJetStreamServer({ name: 'auth', connection: nc });
  // Set once Nest is up (the lease is taken only after that): the lease's work reaches its providers through it.
  const nest: { app?: Awaited<ReturnType<typeof bootstrapService>> } = {};
  const lease = serviceLease({
    leases: PostgresLeases.fromKysely(db),
    service: 'auth',
    port: config.HTTP_PORT,
    ttlMs: config.LEASE_TTL_MS,
    logger,
    work: relayingWork({
      relay: {
        name: 'relay:auth',
        stream: streamName('auth'),
        store,
        checkpoints: PostgresCheckpointStore.fromKysely(db),
        js: jetstream(nc),
        connection: nc,
        subjectFor: (e: Envelope) => eventSubject('auth', e.type, String(e.data.userId ?? e.streamId.replace(/^user-/, ''))),
        logger: { error: (m) => logger.error(m) },
      },
    }),
  });

  const app = await bootstrapService({
    name: 'auth',
    module: AuthModule.forRoot({
      logger,
      db,
      tokens,
      limiter,
      revocations,
      revokedFamilies,
      store,
      cipher,
      onShutdown: async () => {
        await lease.stop(); // releases the lease: a standby takes over at once
        await drainNats(nc);
        await store.close();
        await limiterPool.end();
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
  await rewrapSecrets(app.get(SecretsHandler), cipher, logger);
  logger.info({ port: config.HTTP_PORT, secretsKeyId: cipher.currentKeyId }, 'auth ready');
}

/**
 * Key rotation: values still sealed with an older configured key are sealed again with the
 * current one; values no configured key opens are counted and reported (never skipped silently).
 */
async function rewrapSecrets(handler: SecretsHandler, cipher: SecretCipher, logger: Logger): Promise<void> {
  const { resealed, unreadable } = await handler.rewrap();
  if (resealed > 0) logger.info({ resealed, keyId: cipher.currentKeyId }, 'secrets re-encrypted with the current master key');
  if (unreadable > 0) {
    logger.error({ unreadable }, 'secrets sealed with a master key this service does not have: set it in SECRETS_PREVIOUS_MASTER_KEYS (was the key rotated?)');
  }
}

runMain('auth', main);

/*
 * `agentyard-worker start`: register once (or reuse stored credentials), connect to NATS, run
 * the agent until SIGTERM/SIGINT, drain, exit 0. Exit 1 when the platform refuses the
 * registration (its message is printed; a bad token is never retried in a loop) or when tasks
 * cannot be isolated (isolation.decide.ts) and `--isolation none` was not given. Exit 2 when
 * `--token` names another registration than the one stored for the URL (token-reuse.ts).
 */
import { hostname } from 'node:os';
import { mkdirSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describeError, type Logger } from '../logging/logger';
import { ShutdownSignals } from './shutdown-signals';
import { replayOverrides } from '../agent/order-replay';
import { platformSecretSource } from '../agent/task-secrets';
import { WorkerAgent } from '../agent/worker-agent';
import { OptionsError, normaliseUrl, type WorkerOptions } from '../config/worker-options';
import { CredentialStore, type StoredRegistration } from '../registration/credential.store';
import { NatsCredentialsHolder } from '../registration/nats-credentials';
import { fetchNatsCredentials, registerWorker, RegistrationRejected } from '../registration/registration.client';
import { registrationTokenId, tokenConflict } from '../registration/token-reuse';
import { detectIsolation } from '../isolation/task-isolation';
import { platformArtifactSink } from '../storage/artifact-uploader';
import { WorkspaceManager } from '../workspace/workspace-manager';
import { formatBytes, formatDuration } from '../workspace/worktree-retention';
import { SystemSampler } from '../system/system-sampler';
import { allTools, detectTools, refreshTools, type DetectedTools } from '../tools/tool-registry';
import { agentVersion } from '../version';

export async function runStart(options: WorkerOptions, logger: Logger): Promise<number> {
  if (!options.url) throw new OptionsError('start needs --url (or `url:` in the config file)');
  const url = normaliseUrl(options.url);
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const store = new CredentialStore(options.stateDir);
  const stored = store.find(url);
  const conflict = stored && tokenConflict(stored, options.token, store.path);
  if (conflict) throw new OptionsError(conflict);
  const sampler = new SystemSampler(options.stateDir);
  const [tools, detected] = await Promise.all([detectTools(allTools(process.env)), detectIsolation(options.isolation, options.stateDir), sampler.sample()]);
  logger.info(`tools: ${tools.list.map((t) => (t.version ? `${t.name} ${t.version}` : t.name)).join(', ')}`);
  for (const t of tools.list.filter((t) => t.health === 'unhealthy')) logger.warn(`tool ${t.name} is unhealthy: ${t.detail ?? `credentials ${t.auth}`}`);
  // Before registering: a machine that cannot protect the agent from its tasks takes no token.
  if (!detected.ok) {
    logger.error(detected.message);
    return 1;
  }
  const isolation = detected.isolation;
  for (const problem of detected.tried) logger.warn(`isolation: not used: ${problem}`);
  if (isolation.level === 'none') {
    logger.warn('!!! TASKS ON THIS WORKER ARE NOT ISOLATED (--isolation none) !!!');
    logger.warn(`isolation: ${isolation.description}. Install bubblewrap (or run the agent as root) and drop --isolation none to isolate them.`);
  } else {
    logger.info(`isolation: ${isolation.description}`);
  }

  let credentials: NatsCredentialsHolder | undefined;
  const signals = new ShutdownSignals((signal, count) =>
    count === 1
      ? logger.info(`${signal}: stopping (running tasks get ${options.drainTimeout} s to finish)`)
      : logger.warn(`${signal} again: handing back running tasks now`),
  );
  try {
    let registration: StoredRegistration;
    try {
      registration = await obtainRegistration(url, options, store, sampler, tools, logger, signals.signal);
      const worker = { workerId: registration.workerId, credential: registration.credential };
      const fetchCredentials = () => fetchNatsCredentials(url, worker, { logger, signal: signals.signal });
      credentials = new NatsCredentialsHolder(await fetchCredentials(), fetchCredentials, logger);
    } catch (error) {
      if (signals.signal.aborted) return 0;
      if (error instanceof RegistrationRejected) {
        logger.error(`the platform refused this worker (HTTP ${error.status}): ${error.message}`);
        return 1;
      }
      throw error;
    }
    if (credentials.enabled) logger.info(`NATS credentials valid until ${credentials.expiresAt} (renewed before)`);

    const connecting = connect({
      servers: registration.natsUrl,
      name: `worker-${registration.workerId}`,
      // A worker on a laptop or behind a flaky link must come back by itself, however long it takes.
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      reconnectTimeWait: 1_000,
      // No Error objects built ahead of every report publish (see the services' connectNats).
      noAsyncTraces: true,
      // This worker's own NATS user and inbox, when the platform's NATS runs with auth.
      ...credentials.connectionOptions(),
    });
    const nc = await Promise.race([connecting, signals.requested.then(() => undefined)]);
    if (!nc) {
      void connecting.then((late) => late.close()).catch(() => undefined);
      return 0;
    }
    watchConnection(nc, logger);
    credentials.startRenewing(nc);
    const agent = new WorkerAgent(
      nc,
      jetstream(nc),
      {
        workerId: registration.workerId,
        slots: options.slots,
        stateDir: options.stateDir,
        heartbeatIntervalMs: registration.heartbeatIntervalMs,
        tools,
        hostEnv: process.env,
        stallSeconds: options.stallSeconds,
        prices: options.prices,
        secrets: platformSecretSource(url, { workerId: registration.workerId, credential: registration.credential }, logger),
        isolation,
        workspaces: new WorkspaceManager(
          options.stateDir,
          options.repoRoot,
          logger,
          { retentionMs: options.worktreeRetention * 1000, budgetBytes: options.worktreeDiskBudget },
          { slots: options.slots },
        ),
        artifacts: platformArtifactSink(url, { workerId: registration.workerId, credential: registration.credential }, logger),
        replay: replayOverrides(process.env),
      },
      sampler,
      logger,
    );
    agent.start();
    const stopProbing = probeToolsEvery(options.toolProbeInterval, tools, logger);
    logger.info(
      `worker ${registration.workerId} (${registration.name}) online at ${registration.natsUrl}: ${options.slots} slot(s), isolation ${isolation.level}, ` +
        `finished worktrees kept ${formatDuration(options.worktreeRetention * 1000)} within ${formatBytes(options.worktreeDiskBudget)}`,
    );

    // Reconnects are endless, so the connection closes on its own only for a fatal reason (e.g. an
    // authorization error): then nothing can be reported, and a supervisor should restart us.
    const lost = nc.closed().then((error) => error ?? new Error('NATS connection closed'));
    // The platform refused to renew its NATS credentials: the worker's credential was revoked.
    // It finishes what runs (its NATS access lasts until the credentials it holds expire) and exits.
    const revoked = credentials.refused.then((error) => ({ revoked: error }));
    const stop = await Promise.race([signals.requested.then(() => undefined), lost, revoked]);
    stopProbing();
    if (stop && 'revoked' in stop) {
      logger.error(
        `the platform refused this worker (${describeError(stop.revoked)}): finishing running tasks, then exiting; register it again to bring it back`,
      );
      await agent.shutdown(options.drainTimeout * 1000, signals.hurried).catch(() => undefined);
      await nc.drain().catch(() => nc.close());
      return 1;
    }
    if (stop instanceof Error) {
      logger.error(`NATS connection lost for good: ${describeError(stop)}; handing back running tasks and exiting`);
      await agent.shutdown(0).catch(() => undefined);
      return 1;
    }
    try {
      await agent.shutdown(options.drainTimeout * 1000, signals.hurried);
    } catch (error) {
      logger.error(`shutdown failed: ${describeError(error)}`);
    }
    // Drain flushes pending publishes and acks before closing.
    await nc.drain().catch(() => nc.close());
    logger.info('stopped');
    return 0;
  } finally {
    credentials?.stop();
    signals.dispose();
  }
}

async function obtainRegistration(
  url: string,
  options: WorkerOptions,
  store: CredentialStore,
  sampler: SystemSampler,
  tools: DetectedTools,
  logger: Logger,
  signal: AbortSignal,
): Promise<StoredRegistration> {
  const stored = store.find(url);
  if (stored) {
    // runStart refused a token that names another registration before getting here.
    logger.info(`using stored credentials for ${url} (worker ${stored.workerId})`);
    return stored;
  }
  if (!options.token) throw new OptionsError(`no credentials stored for ${url} in ${store.path}: pass --token <registration-token> to register`);
  const name = options.name ?? defaultName();
  logger.info(`registering with ${url} as "${name}"`);
  const reply = await registerWorker(
    url,
    {
      token: options.token,
      name,
      hostname: hostname().slice(0, 255),
      platform: process.platform,
      arch: process.arch,
      tools: tools.list,
      slots: options.slots,
      resources: await sampler.resources(),
      labels: options.labels,
      agentVersion,
    },
    { logger, signal },
  );
  const registration: StoredRegistration = { ...reply, url, name, registeredAt: new Date().toISOString(), tokenId: registrationTokenId(options.token) };
  store.save(registration);
  logger.info(`registered as worker ${reply.workerId}; credentials stored in ${store.path}`);
  return registration;
}

/** The hostname, reduced to what the platform accepts as a worker name. */
export function defaultName(host = hostname()): string {
  const cleaned = host.replace(/[^\w.@ -]/g, '-').slice(0, 100);
  return cleaned || 'worker';
}

function watchConnection(nc: NatsConnection, logger: Logger): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') logger.warn('NATS disconnected; reconnecting');
      else if (status.type === 'reconnect') logger.info('NATS reconnected');
    }
  })().catch(() => undefined);
}

/**
 * Probes the tools again every `seconds` (0 = never) and logs what changed; the heartbeat carries
 * the new list. Returns the stop function. Probes never overlap (a hung version check waits).
 */
function probeToolsEvery(seconds: number, detected: DetectedTools, logger: Logger): () => void {
  if (seconds <= 0) return () => undefined;
  let probing = false;
  const timer = setInterval(() => {
    if (probing) return;
    probing = true;
    void refreshTools(detected, allTools(process.env))
      .then(({ added, removed, health }) => {
        for (const name of removed) logger.warn(`tool ${name} no longer runs here (its probe failed): no new ${name} tasks come to this worker`);
        for (const t of added) logger.info(`tool ${t.name}${t.version ? ` ${t.version}` : ''} now runs here`);
        for (const t of health) {
          if (t.health === 'healthy') logger.info(`tool ${t.name} is healthy again (credentials ${t.auth})`);
          else logger.warn(`tool ${t.name} is unhealthy: ${t.detail ?? `credentials ${t.auth}`}; no new ${t.name} tasks come to this worker until it recovers`);
        }
      })
      .catch((error: unknown) => logger.warn(`probing the tools failed: ${String(error)}`))
      .finally(() => (probing = false));
  }, seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/*
 * The whole platform as real processes, for end-to-end tests and benchmarks: one nats-server,
 * a fresh database per service on the run's Postgres cluster, every service from its compiled
 * output, and worker agents on demand. Each piece can be killed and restarted on its own, which
 * is what the crash tests need. NATS runs in operator mode (nats-auth.ts) unless `natsAuth: false`:
 * the services connect with their credentials file, and agents get NATS users limited to their
 * own subjects — as in production, so the tests exercise the permissions. Auth gets a fresh
 * secrets master key per platform (SECRETS_MASTER_KEY).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './free-port';
import { createNatsAuth } from './nats-auth';
import { startNatsServer, type NatsServer } from './nats-server';
import { startService, type ServiceProcess } from './service-process';
import { agentNodeFlags } from './agent-flags';
import { testDatabase, testNats } from './test-env';

/** The services in start order: infra/services.json's, typed (startPlatform refuses to run when they differ). */
export const platformServices = ['auth', 'workers', 'tasks', 'allocation', 'workflows', 'gateway'] as const;
export type PlatformService = (typeof platformServices)[number];

/** One service of infra/services.json (its `$comment` says what each field means). */
export interface ServiceManifestEntry {
  name: string;
  database: string | null;
  env: string[];
  devHttpPort: number;
  publicPort?: number;
  replicas: number;
}

/** infra/services.json: the services that `npm start`, this platform and the deploy checks read. */
export function serviceManifest(): { httpPort: number; services: ServiceManifestEntry[] } {
  return JSON.parse(readFileSync(join(repoRoot, 'infra', 'services.json'), 'utf8'));
}

const repoRoot = resolve(__dirname, '..', '..', '..', '..');

export interface WorkerAgentProcess {
  readonly pid: number | undefined;
  readonly stateDir: string;
  output(): string;
  /** SIGTERM (graceful drain) and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait: the crash case. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export interface Platform {
  readonly url: string;
  /** The gateway's internal port (GET /metrics, /health/*), e.g. `http://127.0.0.1:41234`. */
  readonly internalUrl: string;
  /** A service's health and metrics port, e.g. `internalUrlOf('workflows') + '/metrics'`. */
  internalUrlOf(name: PlatformService): string;
  readonly nats: NatsServer;
  /** The services' NATS credentials file (connect with it: anonymous clients are refused), unless `natsAuth: false`. */
  readonly natsCredsFile: string | undefined;
  readonly databases: Record<Exclude<PlatformService, 'gateway'>, string>;
  service(name: PlatformService): ServiceProcess;
  /** Replica `i` of a service (0 is `service(name)`; more with the `replicas` option). */
  replica(name: PlatformService, i: number): ServiceProcess;
  /** Replica `i`'s health and metrics port, e.g. `replicaUrlOf('tasks', 1) + '/health/ready'`. */
  replicaUrlOf(name: PlatformService, i: number): string;
  /** Stops (or kills) replica `i` if it runs and starts it again with the same settings. */
  restartReplica(name: PlatformService, i: number, how?: 'stop' | 'kill'): Promise<void>;
  /**
   * Restarts one service with the same database and settings; `env` is laid over its settings
   * from now on (e.g. a shorter token lifetime for one phase of a test).
   */
  restart(name: PlatformService, how?: 'stop' | 'kill', env?: Record<string, string>): Promise<void>;
  /** Starts a worker agent process: `agentyard-worker start --url … --token …`. */
  startWorker(options: {
    token?: string;
    stateDir?: string;
    name: string;
    slots?: number;
    extraArgs?: string[];
    env?: Record<string, string>;
  }): WorkerAgentProcess;
  stop(): Promise<void>;
}

/** Starts nats-server and the services (in dependency order) and resolves when all are ready. */
export async function startPlatform(
  options: {
    env?: Partial<Record<PlatformService, Record<string, string>>>;
    natsAuth?: boolean;
    /** Output kept per service and agent process (default 20 kB): more for a test that searches every log line. */
    keepOutputBytes?: number;
    /** Processes per service (default 1; not the gateway, whose public port is one): e.g. `{ tasks: 2 }` for the HA tests. */
    replicas?: Partial<Record<Exclude<PlatformService, 'gateway'>, number>>;
  } = {},
): Promise<Platform> {
  const keep = options.keepOutputBytes ?? 20_000;
  const manifest = serviceManifest().services;
  if (manifest.map((s) => s.name).join() !== platformServices.join())
    throw new Error(
      `infra/services.json lists ${manifest.map((s) => s.name).join(', ')}; platformServices (platform.ts) must list the same, in the same order`,
    );
  const entry = (name: PlatformService): ServiceManifestEntry => manifest.find((s) => s.name === name)!;
  const auth = options.natsAuth === false ? undefined : await createNatsAuth();
  const nats = auth ? await startNatsServer({ extraConfig: auth.serverConfig }) : await testNats();
  let natsCredsFile: string | undefined;
  if (auth) {
    natsCredsFile = join(mkdtempSync(join(tmpdir(), 'agentyard-nats-creds-')), 'services.creds');
    writeFileSync(natsCredsFile, auth.serviceCreds, { mode: 0o600 });
  }
  // A fresh database for each service the manifest gives one.
  const databases = {} as Record<Exclude<PlatformService, 'gateway'>, string>;
  for (const s of manifest) if (s.database) databases[s.name as Exclude<PlatformService, 'gateway'>] = await testDatabase(s.name);
  const ports = Object.fromEntries(await Promise.all(platformServices.map(async (s) => [s, await freePort()] as const))) as Record<PlatformService, number>;
  // The gateway's health+metrics port (its public port serves no /metrics).
  const gatewayInternalPort = await freePort();
  const url = `http://127.0.0.1:${ports.gateway}`;
  const secretsMasterKey = randomBytes(32).toString('base64');
  const overrides: Partial<Record<PlatformService, Record<string, string>>> = {};
  // How this platform provides each variable the manifest's `env` may name.
  const provided: Record<string, () => string> = {
    SECRETS_MASTER_KEY: () => secretsMasterKey,
    PUBLIC_URL: () => url,
    PORT: () => String(ports.gateway),
  };
  const manifestEnv = (name: PlatformService): Record<string, string> =>
    Object.fromEntries(
      entry(name).env.map((variable) => {
        const value = provided[variable];
        if (!value) throw new Error(`infra/services.json: ${name} needs ${variable}, which startPlatform does not know how to provide`);
        return [variable, value()];
      }),
    );
  const envFor = (name: PlatformService): Record<string, string> => ({
    NATS_URL: nats.url,
    ...(natsCredsFile ? { NATS_CREDS_FILE: natsCredsFile } : {}),
    ...(name === 'workers' && auth ? { WORKER_NATS_ACCOUNT: auth.accountPublicKey, WORKER_NATS_SIGNING_SEED: auth.workerSigningSeed } : {}),
    // The gateway's public port is PORT (manifest env); its health and metrics are on HTTP_PORT.
    HTTP_PORT: String(name === 'gateway' ? gatewayInternalPort : ports[name]),
    ...(name !== 'gateway' && entry(name).database ? { DATABASE_URL: databases[name] } : {}),
    ...manifestEnv(name),
    ...(options.env?.[name] ?? {}),
    ...(overrides[name] ?? {}),
  });
  const readyUrl = (name: PlatformService) => `http://127.0.0.1:${ports[name]}/health/ready`;
  const running = new Map<PlatformService, ServiceProcess>();
  const agents = new Set<WorkerAgentProcess>();
  // Replicas beyond the first: same settings, their own health port (key `<name>#<i>`).
  const extra = new Map<string, { port: number; process?: ServiceProcess }>();
  for (const [name, count] of Object.entries(options.replicas ?? {}) as [PlatformService, number][]) {
    for (let i = 1; i < count; i++) extra.set(`${name}#${i}`, { port: await freePort() });
  }
  const startReplica = async (name: PlatformService, i: number): Promise<ServiceProcess> => {
    const slot = extra.get(`${name}#${i}`);
    if (!slot) throw new Error(`${name} has no replica ${i}`);
    slot.process = await startService(name, { ...envFor(name), HTTP_PORT: String(slot.port) }, `http://127.0.0.1:${slot.port}/health/ready`, undefined, keep);
    return slot.process;
  };
  try {
    for (const name of platformServices) running.set(name, await startService(name, envFor(name), readyUrl(name), undefined, keep));
    for (const key of extra.keys()) await startReplica(key.split('#')[0] as PlatformService, Number(key.split('#')[1]));
  } catch (error) {
    // One service failed to start: stop the ones that did, so a failed run leaves nothing behind.
    for (const { process: p } of extra.values()) await p?.stop().catch(() => undefined);
    for (const s of [...running.values()].reverse()) await s.stop().catch(() => undefined);
    await nats.stop().catch(() => undefined);
    throw error;
  }

  const platform: Platform = {
    url,
    internalUrl: `http://127.0.0.1:${gatewayInternalPort}`,
    internalUrlOf: (name) => `http://127.0.0.1:${name === 'gateway' ? gatewayInternalPort : ports[name]}`,
    nats,
    natsCredsFile,
    databases,
    service(name) {
      const s = running.get(name);
      if (!s) throw new Error(`${name} is not running`);
      return s;
    },
    replica(name, i) {
      if (i === 0) return this.service(name);
      const p = extra.get(`${name}#${i}`)?.process;
      if (!p) throw new Error(`${name} replica ${i} is not running`);
      return p;
    },
    replicaUrlOf(name, i) {
      if (i === 0) return this.internalUrlOf(name);
      const slot = extra.get(`${name}#${i}`);
      if (!slot) throw new Error(`${name} has no replica ${i}`);
      return `http://127.0.0.1:${slot.port}`;
    },
    async restartReplica(name, i, how = 'stop') {
      if (i === 0) return this.restart(name, how);
      const p = extra.get(`${name}#${i}`)?.process;
      if (p) await (how === 'kill' ? p.kill() : p.stop());
      await startReplica(name, i);
    },
    async restart(name, how = 'stop', env) {
      if (env) overrides[name] = { ...overrides[name], ...env };
      const s = running.get(name);
      if (s) await (how === 'kill' ? s.kill() : s.stop());
      running.set(name, await startService(name, envFor(name), readyUrl(name), undefined, keep));
    },
    startWorker({ token, stateDir, name, slots = 2, extraArgs = [], env = {} }) {
      const dir = stateDir ?? mkdtempSync(join(tmpdir(), 'agentyard-worker-'));
      const args = [
        ...agentNodeFlags(repoRoot),
        join(repoRoot, 'worker', 'dist', 'main.js'),
        'start',
        '--url',
        url,
        '--name',
        name,
        '--slots',
        String(slots),
        '--state-dir',
        dir,
        ...extraArgs,
      ];
      if (token) args.push('--token', token);
      const child: ChildProcess = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const collect = (c: Buffer) => {
        out = (out + c.toString()).slice(-keep);
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const waitFor = async (signal: NodeJS.Signals) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
        await exited;
        clearTimeout(timer);
        child.stdout?.destroy();
        child.stderr?.destroy();
      };
      const agent: WorkerAgentProcess = {
        get pid() {
          return child.pid;
        },
        stateDir: dir,
        output: () => out,
        stop: () => waitFor('SIGTERM'),
        kill: () => waitFor('SIGKILL'),
        exited,
      };
      agents.add(agent);
      return agent;
    },
    async stop() {
      await Promise.all([...agents].map((a) => a.kill()));
      for (const { process: p } of extra.values()) await p?.stop();
      for (const name of [...platformServices].reverse()) await running.get(name)?.stop();
      await nats.stop();
    },
  };
  return platform;
}

/*
 * Starts a real nats-server (JetStream on) as a child process. Tests start one per suite on a
 * free port so runs never share state; `npm start` starts one under .data/. The config file we
 * write stays free of 2.10+ keys: Debian ships 2.9.10, which refuses to start on unknown keys
 * such as `sync_interval` (see platform-notes.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './free-port';

export interface NatsServerOptions {
  /** Port for clients; default: a free port. */
  port?: number;
  /** Directory for JetStream files and the config; default: a fresh temp dir removed on stop. */
  dataDir?: string;
  /** Extra config text appended to the generated config (2.9-safe keys only). */
  extraConfig?: string;
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes a temp data dir. */
  stop(): Promise<void>;
  /** Sends SIGKILL: the crash case. The data dir is kept so `restart()` recovers from it. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data dir. */
  restart(): Promise<void>;
}

const INSTALL_HINT =
  'nats-server not found. Install it: Debian/Ubuntu `sudo apt-get install -y nats-server`; ' +
  'macOS `brew install nats-server`; other systems: https://docs.nats.io/running-a-nats-service/introduction/installation';

/** Finds the nats-server binary: $NATS_SERVER_BIN, then PATH, then /usr/sbin (Debian's place). */
export function findNatsServerBinary(): string | undefined {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin']);
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function natsInstallHint(): string {
  return INSTALL_HINT;
}

/** Starts nats-server with JetStream and resolves once it accepts connections. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = findNatsServerBinary();
  if (!binary) throw new Error(INSTALL_HINT);
  const port = options.port ?? (await freePort());
  const ownsDir = !options.dataDir;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'agentyard-nats-'));
  mkdirSync(dataDir, { recursive: true });
  const configPath = join(dataDir, 'nats.conf');
  writeFileSync(
    configPath,
    [
      `listen: 127.0.0.1:${port}`,
      // Big enough for a 1 MB task description plus envelope; the gateway enforces the real limit.
      'max_payload: 8MB',
      'jetstream {',
      `  store_dir: ${JSON.stringify(join(dataDir, 'jetstream'))}`,
      '  max_memory_store: 256MB',
      '  max_file_store: 2GB',
      '}',
      options.extraConfig ?? '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    child = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 8_000) stderr += chunk.toString();
    });
    const exited = new Promise<never>((_, reject) =>
      child?.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${stderr.slice(-2000)}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port), exited]);
    // JetStream finishes recovering streams after the port opens; the ready line says it is done.
    const deadline = Date.now() + 15_000;
    while (!stderr.includes('Server is ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  };
  const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const done = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await done;
    clearTimeout(timer);
  };

  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    async stop() {
      await waitExit('SIGTERM');
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
    async kill() {
      await waitExit('SIGKILL');
    },
    async restart() {
      await waitExit('SIGTERM');
      await launch();
    },
  };
}

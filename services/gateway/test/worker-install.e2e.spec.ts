/*
 * "Add worker" on a machine that has never seen this repository: the install command the API
 * returns, run verbatim by bash in an empty directory outside the checkout with a fresh HOME,
 * downloads the agent package from the platform, checks its sha256, installs it with npm (its
 * dependencies from the machine's npm cache or the public registry; node-pty compiles) and starts
 * it — and the worker comes online. A wrong checksum or a tampered tarball stops the command
 * before anything is installed or run.
 *
 * The command gets a clean environment: PATH without this checkout, the fresh HOME, npm's cache
 * and node headers dir of this machine (npm_config_cache, npm_config_nodedir — a fresh HOME has no
 * ~/.npmrc) and the machine's CA bundle and proxy settings, offline-preferred. npm still asks the
 * registry for each package's metadata when the cache holds only tarballs (as after `npm ci`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { WorkerView } from '@agentyard/contracts';
import { startPlatform, type Platform } from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';

const repoRoot = resolve(__dirname, '..', '..', '..');

interface Manifest {
  version: string;
  file: string;
  sha256: string;
  size: number;
}

let platform: Platform;
let alice: { client: ApiClient; userId: string; token: string };
const cleanups: Array<() => Promise<void> | void> = [];

/** npm's own setting on this machine (read with the real HOME, before the test replaces it). */
const npmConfig = (key: string): string | undefined => {
  const value = execFileSync('npm', ['config', 'get', key], { encoding: 'utf8' }).trim();
  return value && value !== 'undefined' && value !== 'null' ? value : undefined;
};
const machineNpm = { cache: npmConfig('cache'), nodedir: npmConfig('nodedir') };

/** An empty directory outside the checkout, removed after the suite. */
function freshDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  expect(dir.startsWith(repoRoot)).toBe(false);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * How this machine reaches the npm registry, which a user's shell on it has as well: its CA bundle
 * (a TLS-intercepting proxy's certificate — without it npm retries every package's metadata with
 * SELF_SIGNED_CERT_IN_CHAIN for minutes) and its proxy.
 */
const NETWORK_ENV = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'npm_config_cafile',
  'npm_config_registry',
];
const machineNetwork = Object.fromEntries(NETWORK_ENV.flatMap((key) => (process.env[key] ? [[key, process.env[key]!]] : [])));

/** What a user's shell on a fresh machine has: node and npm on PATH, the machine's network settings, nothing of this checkout. */
function machineEnv(home: string): Record<string, string> {
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir && !resolve(dir).startsWith(repoRoot))
    .join(delimiter);
  return {
    PATH: path,
    HOME: home,
    LANG: process.env.LANG ?? 'C.UTF-8',
    ...machineNetwork,
    ...(machineNpm.cache ? { npm_config_cache: machineNpm.cache } : {}),
    ...(machineNpm.nodedir ? { npm_config_nodedir: machineNpm.nodedir } : {}),
    npm_config_prefer_offline: 'true',
    npm_config_update_notifier: 'false',
  };
}

interface Run {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `bash -c <command>` in `cwd`, in its own process group (so the agent it starts can be stopped with it). */
function runCommand(command: string, cwd: string, env: Record<string, string>): Run {
  const child = spawn('bash', ['-c', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-200_000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-200_000)));
  // 'close', not 'exit': the output is complete once the pipes are closed.
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  return { child, output: () => output, exited };
}

/** Processes of a process group, with their command lines. */
function processGroup(pgid: number): Array<{ pid: number; argv: string[] }> {
  const found: Array<{ pid: number; argv: string[] }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name's closing parenthesis: state, ppid, pgrp, …
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp !== pgid) continue;
      found.push({ pid: Number(entry), argv: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

async function stopGroup(run: Run): Promise<void> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return;
  try {
    process.kill(-run.child.pid!, 'SIGTERM');
  } catch {
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([run.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 30_000)))]);
  clearTimeout(timer);
  if (!stopped) process.kill(-run.child.pid!, 'SIGKILL');
}

async function createToken(): Promise<{ token: string; installCommand: string }> {
  const res = await alice.client.post<{ token: string; installCommand: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
  expect(res.status).toBe(201);
  return res.body;
}

async function manifest(): Promise<Manifest> {
  const res = await new ApiClient(platform.url).get<Manifest>('/downloads/agentyard-worker.json');
  expect(res.status).toBe(200);
  return res.body;
}

beforeAll(async () => {
  platform = await startPlatform({ env: { workers: { OFFLINE_AFTER_MS: '4000', SWEEP_INTERVAL_MS: '500', HEARTBEAT_INTERVAL_MS: '1000' } } });
  alice = await new ApiClient(platform.url).signUp('alice');
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await platform?.stop();
});

describe('The worker package the platform serves', () => {
  it('is described by agentyard-worker.json and served under that name with the stated sha256 and size, to anyone', async () => {
    const m = await manifest();
    expect(m.file).toBe(`agentyard-worker-${m.version}.tgz`);
    const got = await new ApiClient(platform.url).download(`/downloads/${m.file}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/gzip');
    expect(got.headers.get('etag')).toBe(`"${m.sha256}"`);
    expect(got.headers.get('cache-control')).toBe('public, no-cache');
    expect(got.bytes.length).toBe(m.size);
    expect(createHash('sha256').update(got.bytes).digest('hex')).toBe(m.sha256);
    const again = await fetch(`${platform.url}/downloads/${m.file}`, { headers: { 'if-none-match': `"${m.sha256}"` } });
    expect(again.status).toBe(304);
  });

  it('serves no other name: another version, a path out of the directory or the manifest’s own dir are 404', async () => {
    const m = await manifest();
    for (const path of [
      '/downloads/agentyard-worker-0.0.1.tgz',
      `/downloads/${encodeURIComponent(`../${m.file}`)}`,
      '/downloads/..%2F..%2Fpackage.json',
      '/downloads/%2e%2e%2fpackage.json',
      `/downloads/${m.file}.sha256`,
      '/downloads/',
    ]) {
      const res = await fetch(`${platform.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });
});

describe('The install command', () => {
  it('run verbatim by bash in an empty directory with a fresh HOME, installs the served agent and brings a worker online that runs from the installed copy; its start without --token brings the same worker back', async () => {
    const { installCommand } = await createToken();
    const m = await manifest();
    expect(installCommand).toContain(m.sha256);
    expect(installCommand).not.toMatch(/npx/);
    const home = freshDir('agentyard-install-home-');
    const cwd = freshDir('agentyard-install-cwd-');
    const run = runCommand(installCommand, cwd, machineEnv(home));
    cleanups.push(() => stopGroup(run));

    const worker = await eventually(
      'the installed worker online',
      async () => {
        if (run.child.exitCode !== null) throw new Error(`the install command exited ${run.child.exitCode}:\n${run.output()}`);
        const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
        return res.body.items.find((w) => w.status === 'online' && w.lastHeartbeat !== null);
      },
      240_000,
      1_000,
    ).catch((error: Error) => {
      // Still running at the deadline: what it printed says where it hangs.
      throw new Error(`${error.message}\nthe install command's output so far:\n${run.output().slice(-8_000)}`);
    });
    // It reports the version it was installed as: the platform's, so not outdated.
    expect(worker).toMatchObject({ agentVersion: m.version, agentOutdated: false });
    // The command said what node-pty needs before npm started.
    expect(run.output()).toContain('checksum ok');
    expect(run.output()).toContain('python3, make and g++');

    // The agent runs from the install in the fresh HOME, nothing from the checkout. It rewrites its
    // process title (the token is masked), so its script path is not in /proc/<pid>/cmdline: the
    // modules it loaded are. node-pty resolves from the script's own location, so a pty.node of
    // the install's node_modules (compiled there) shows which copy of the agent runs.
    const prefix = join(home, '.agentyard-worker', m.version);
    const group = processGroup(run.child.pid!);
    const agent = group.find((p) => p.argv[0]?.startsWith('agentyard-worker start'));
    expect({ agent: agent?.argv[0], group: group.map((p) => p.argv.join(' ').slice(0, 200)) }).toMatchObject({ agent: expect.stringContaining('--token ***') });
    expect(realpathSync(`/proc/${agent!.pid}/cwd`)).toBe(realpathSync(cwd));
    const environ = readFileSync(`/proc/${agent!.pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`HOME=${home}`);
    expect(environ.find((e) => e.startsWith('PATH='))).toMatch(new RegExp(`^PATH=${prefix.replace(/[.]/g, '\\.')}/bin:`));
    const installed = join(prefix, 'lib', 'node_modules', '@agentyard', 'worker');
    expect(realpathSync(join(prefix, 'bin', 'agentyard-worker'))).toBe(join(installed, 'bin', 'agentyard-worker.js'));
    const loaded = readFileSync(`/proc/${agent!.pid}/maps`, 'utf8');
    const ptyBinaries = [
      ...new Set(
        loaded
          .split('\n')
          .filter((l) => l.endsWith('pty.node'))
          .map((l) => l.split(/\s+/).pop()!),
      ),
    ];
    expect(ptyBinaries).toEqual([join(installed, 'node_modules', 'node-pty', 'build', 'Release', 'pty.node')]);
    expect(loaded).not.toContain(repoRoot);

    await stopGroup(run);
    await eventually('the worker offline after SIGTERM', async () => {
      const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
      return res.body.items.find((w) => w.id === worker.id && w.status === 'offline');
    });

    // How the docs say to update: the command's start without its --token runs the stored worker
    // (no second registration), and its heartbeats carry the version.
    const start = installCommand
      .split(' && ')
      .pop()!
      .replace(/ --token \S+$/, '');
    expect(start).not.toContain('--token');
    const again = runCommand(start, cwd, machineEnv(home));
    cleanups.push(() => stopGroup(again));
    const back = await eventually('the same worker online again', async () => {
      if (again.child.exitCode !== null) throw new Error(`start without --token exited ${again.child.exitCode}:\n${again.output()}`);
      const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
      return res.body.items.find((w) => w.id === worker.id && w.status === 'online');
    });
    expect(back).toMatchObject({ agentVersion: m.version, agentOutdated: false });
    expect((await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers')).body.items).toHaveLength(1);
    await stopGroup(again);
  }, 300_000);

  it('stops before installing or running anything when the checksum does not match the tarball', async () => {
    const { installCommand } = await createToken();
    const m = await manifest();
    const home = freshDir('agentyard-install-home-');
    const run = runCommand(
      installCommand.replace(m.sha256, createHash('sha256').update('something else').digest('hex')),
      freshDir('agentyard-install-cwd-'),
      machineEnv(home),
    );
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toMatch(/checksum mismatch .* nothing installed/);
    expect(existsSync(join(home, '.agentyard-worker'))).toBe(false);
    expect(existsSync(join(home, '.agentyard'))).toBe(false);
  }, 60_000);

  it('stops before installing or running anything when the tarball it downloads was tampered with', async () => {
    const { installCommand } = await createToken();
    const m = await manifest();
    // A server in the middle answering the package's URL with other bytes (one flipped).
    const genuine = (await new ApiClient(platform.url).download(`/downloads/${m.file}`)).bytes;
    const tampered = Buffer.from(genuine);
    tampered[tampered.length >> 1] ^= 0xff;
    const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/gzip' }).end(tampered));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
    );
    const evil = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const command = installCommand.replace(`${platform.url}/downloads/`, `${evil}/downloads/`);
    expect(command).toContain(evil);

    const home = freshDir('agentyard-install-home-');
    const run = runCommand(command, freshDir('agentyard-install-cwd-'), machineEnv(home));
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toContain(`checksum mismatch for ${evil}/downloads/${m.file}`);
    expect(existsSync(join(home, '.agentyard-worker'))).toBe(false);
    expect(existsSync(join(home, '.agentyard'))).toBe(false);
  }, 60_000);
});

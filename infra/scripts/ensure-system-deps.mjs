// Makes sure nats-server exists (tests and `npm start` need a real one), bubblewrap (worker
// agents sandbox their tasks with it; the tests prove the sandbox), and redis-server for the
// tasks benchmark's BullMQ peer. On Debian/Ubuntu as root it installs the distribution package;
// elsewhere (or with AGENTYARD_NO_INSTALL=1) it throws the one-line install hint instead.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

const hint =
  'nats-server is missing. Install it: Debian/Ubuntu `sudo apt-get install -y nats-server` · ' +
  'macOS `brew install nats-server` · other: https://github.com/nats-io/nats-server/releases';

export function findNatsServer() {
  if (process.env.NATS_SERVER_BIN && existsSync(process.env.NATS_SERVER_BIN)) return process.env.NATS_SERVER_BIN;
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin']) {
    if (dir && existsSync(`${dir}/nats-server`)) return `${dir}/nats-server`;
  }
  return undefined;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;
const mayInstall = () => isRoot() && existsSync('/usr/bin/apt-get') && process.env.AGENTYARD_NO_INSTALL !== '1';

function aptInstall(pkg) {
  process.stdout.write(`installing ${pkg} from Debian packages (apt-get)…\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
  }
}

/** Returns the nats-server path, installing it when possible; throws the hint otherwise. */
export function ensureNatsServer() {
  let bin = findNatsServer();
  if (bin) return bin;
  if (mayInstall()) {
    aptInstall('nats-server');
    bin = findNatsServer();
    if (bin) return bin;
  }
  throw new Error(hint);
}

/** Returns Debian's Chromium for the browser end-to-end tests, installing it as root when missing. */
export function ensureChromium() {
  const candidates = [process.env.CHROMIUM_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  const found = () => candidates.find((c) => existsSync(c));
  if (found()) return found();
  if (mayInstall()) {
    aptInstall('chromium');
    if (found()) return found();
  }
  throw new Error('Chromium is missing (the dashboard tests drive it): Debian/Ubuntu `sudo apt-get install -y chromium`');
}

/** redis-server: REDIS_SERVER_BIN when set (and only it), else the first on PATH or in the usual dirs. */
export function findRedisServer() {
  if (process.env.REDIS_SERVER_BIN) return existsSync(process.env.REDIS_SERVER_BIN) ? process.env.REDIS_SERVER_BIN : undefined;
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/sbin', '/usr/local/bin']) {
    if (dir && existsSync(`${dir}/redis-server`)) return `${dir}/redis-server`;
  }
  return undefined;
}

/** Returns the redis-server path (the tasks benchmark's BullMQ peer), installing Debian's package as root. */
export function ensureRedisServer() {
  let bin = findRedisServer();
  if (bin) return bin;
  if (mayInstall() && !process.env.REDIS_SERVER_BIN) {
    aptInstall('redis-server');
    bin = findRedisServer();
    if (bin) return bin;
  }
  throw new Error(
    'redis-server is missing (the tasks benchmark compares against BullMQ on Redis). Install it: Debian/Ubuntu `sudo apt-get install -y redis-server` · macOS `brew install redis`',
  );
}

/** The bubblewrap binary on PATH (or the usual places), if any. */
export function findBubblewrap() {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin']) {
    if (dir && existsSync(`${dir}/bwrap`)) return `${dir}/bwrap`;
  }
  return undefined;
}

/** Returns the bwrap path, installing Debian's bubblewrap as root when missing; throws the hint otherwise. */
export function ensureBubblewrap() {
  if (findBubblewrap()) return findBubblewrap();
  if (mayInstall()) {
    aptInstall('bubblewrap');
    if (findBubblewrap()) return findBubblewrap();
  }
  throw new Error(
    'bubblewrap is missing (worker agents sandbox their tasks with it, and the tests check the sandbox): ' +
      'Debian/Ubuntu `sudo apt-get install -y bubblewrap` · Fedora `sudo dnf install bubblewrap`',
  );
}

/**
 * sshd for the ssh deploy-key tests (a local sshd on a free port, never the machine's own
 * service): installs Debian's openssh-server as root when missing. Best effort — without it the
 * ssh cases print why they are skipped and the rest runs.
 */
export function ensureSshd() {
  if (existsSync('/usr/sbin/sshd')) return '/usr/sbin/sshd';
  if (mayInstall()) {
    // The package's own service is not wanted (the tests start their own sshd): a policy-rc.d
    // answering 101 keeps the install from starting it, and goes again afterwards.
    const policy = '/usr/sbin/policy-rc.d';
    const ownPolicy = !existsSync(policy);
    try {
      if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
      aptInstall('openssh-server');
    } catch (e) {
      process.stderr.write(`openssh-server could not be installed (${e.message}); the ssh deploy key tests will say they are skipped\n`);
    } finally {
      if (ownPolicy) rmSync(policy, { force: true });
    }
  }
  return existsSync('/usr/sbin/sshd') ? '/usr/sbin/sshd' : undefined;
}

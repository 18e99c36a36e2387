#!/usr/bin/env node
// `npm start`: the whole platform on one machine (brief §11). Reuses NATS (NATS_URL or
// 127.0.0.1:4222) and Postgres (AGENTYARD_PG_URL) when reachable; otherwise starts nats-server
// with JetStream and a local Postgres cluster under .data/. NATS runs in operator mode (the
// services share one credentials file; each worker agent gets a NATS user for its own subjects
// only), with the operator and accounts kept in .data/nats-auth.json. Creates each service's database,
// starts the services (each migrates its own schema), prints where to open it. Ctrl-C stops
// everything it started, in reverse order.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureNatsServer, findBubblewrap } from '../scripts/ensure-system-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// swc emits CommonJS whose exports Node's ESM loader cannot see by name: load it with require.
const infra = createRequire(import.meta.url)(join(root, 'services/libs/local-infra/dist/index.js'));
const dataDir = join(root, '.data');
mkdirSync(dataDir, { recursive: true });

const log = (msg) => process.stdout.write(`[agentyard] ${msg}\n`);
// The gateway's public port: PORT, else the manifest's (infra/services.json).
const manifest = JSON.parse(readFileSync(join(root, 'infra', 'services.json'), 'utf8'));
const PORT = Number(process.env.PORT ?? manifest.services.find((s) => s.publicPort)?.publicPort ?? 8080);
const NATS_PORT = Number(process.env.AGENTYARD_NATS_PORT ?? 4222);
const PG_PORT = Number(process.env.AGENTYARD_PG_PORT ?? 54329);
// The services of infra/services.json, in its (start) order: a database each where it names one,
// health and metrics on devHttpPort (the gateway's API and dashboard on PORT). One whose build
// does not exist yet is skipped with a note.
const services = manifest.services.filter((s) => {
  const built = existsSync(join(root, 'services', s.name, 'dist', 'main.js'));
  if (!built) log(`skipping ${s.name}: not built (services/${s.name}/src/main.ts does not exist yet)`);
  return built;
});

const stops = [];
const children = [];

/**
 * The operator-mode setup of the NATS we start, created once and kept (JetStream data belongs to
 * the account: a new account on every start would orphan it). Secrets: mode 600.
 */
async function natsAuth() {
  const file = join(dataDir, 'nats-auth.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const auth = await infra.createNatsAuth();
  writeFileSync(file, `${JSON.stringify(auth, null, 2)}\n`, { mode: 0o600 });
  return auth;
}

/**
 * The key that encrypts users' secrets at rest (auth's SECRETS_MASTER_KEY): taken from the
 * environment when set, else created once and kept in .data/secrets-master.key (mode 600) —
 * losing it makes every stored secret unreadable.
 */
function secretsMasterKey() {
  if (process.env.SECRETS_MASTER_KEY) return process.env.SECRETS_MASTER_KEY;
  const file = join(dataDir, 'secrets-master.key');
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/** NATS URL, plus the services' credentials file and the workers' signing key when it runs with auth. */
async function nats() {
  if (process.env.NATS_URL) return { url: process.env.NATS_URL };
  const file = join(dataDir, 'nats-auth.json');
  let url = `nats://127.0.0.1:${NATS_PORT}`;
  let auth;
  if (await infra.isReachable(NATS_PORT)) {
    log(`reusing NATS on 127.0.0.1:${NATS_PORT}${existsSync(file) ? ' with the credentials in .data/nats-auth.json' : ''}`);
    if (existsSync(file)) auth = await natsAuth();
  } else {
    process.env.NATS_SERVER_BIN = ensureNatsServer();
    auth = await natsAuth();
    const server = await infra.startNatsServer({ port: NATS_PORT, dataDir: join(dataDir, 'nats'), extraConfig: auth.serverConfig });
    stops.push(() => server.stop());
    log(`started nats-server (JetStream, operator-mode auth) on ${server.url}, data in .data/nats`);
    url = server.url;
  }
  if (!auth) return { url };
  const credsFile = join(dataDir, 'nats-services.creds');
  writeFileSync(credsFile, auth.serviceCreds, { mode: 0o600 });
  return { url, auth, credsFile };
}

/** Service environment for NATS: URL, credentials file, and (workers) the key to mint agents' users. */
function natsEnv({ url, auth, credsFile }, serviceName) {
  const env = { NATS_URL: url };
  if (credsFile ?? process.env.NATS_CREDS_FILE) env.NATS_CREDS_FILE = credsFile ?? process.env.NATS_CREDS_FILE;
  if (auth && serviceName === 'workers') Object.assign(env, { WORKER_NATS_ACCOUNT: auth.accountPublicKey, WORKER_NATS_SIGNING_SEED: auth.workerSigningSeed });
  return env;
}

async function postgresUrl() {
  if (process.env.AGENTYARD_PG_URL) return process.env.AGENTYARD_PG_URL;
  if (await infra.isReachable(PG_PORT)) {
    log(`reusing Postgres on 127.0.0.1:${PG_PORT}`);
    return `postgres://postgres@127.0.0.1:${PG_PORT}/postgres`;
  }
  const server = await infra.startPostgresServer({ port: PG_PORT, dataDir: join(dataDir, 'postgres') });
  stops.push(() => server.stop());
  log(`started Postgres on 127.0.0.1:${PG_PORT}, data in ${server.dataDir}`);
  return server.url;
}

async function ensureDatabase(adminUrl, name) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function startService(service, env, script = join(root, 'services', service.name, 'dist', 'main.js'), args = [], nodeFlags = []) {
  const child = spawn(process.execPath, [...nodeFlags, script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${service.name}] `;
  const forward = (stream, out) => {
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) out.write(prefix + compact(line) + '\n');
    });
  };
  forward(child.stdout, process.stdout);
  forward(child.stderr, process.stderr);
  child.on('exit', (code, signal) => {
    if (!shuttingDown) {
      log(`${service.name} exited (${signal ?? code}); stopping everything`);
      void shutdown(1);
    }
  });
  children.push(child);
  return child;
}

/** Pino JSON → `level msg` for a readable console; anything else passes through. */
function compact(line) {
  try {
    const o = JSON.parse(line);
    const level = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }[o.level] ?? o.level;
    const extra = o.err?.message ? ` (${o.err.message})` : o.req ? ` ${o.req.method} ${o.req.url} → ${o.res?.statusCode}` : '';
    return `${level} ${o.msg ?? ''}${extra}`;
  } catch {
    return line;
  }
}

/** A local admin account, created on first start; its password is kept in .data/admin.json. */
async function ensureAdmin() {
  const file = join(dataDir, 'admin.json');
  const admin = existsSync(file)
    ? JSON.parse(readFileSync(file, 'utf8'))
    : { username: 'admin', email: 'admin@localhost.localdomain', password: randomBytes(12).toString('base64url') };
  const api = (path, body, token) =>
    fetch(`http://127.0.0.1:${PORT}/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  if (!existsSync(file)) {
    const res = await api('/auth/register', { username: admin.username, email: admin.email, password: admin.password });
    if (res.status !== 201 && res.status !== 409) throw new Error(`could not create the admin user: ${await res.text()}`);
    writeFileSync(file, JSON.stringify(admin, null, 2), { mode: 0o600 });
  }
  const login = await api('/auth/login', { username: admin.username, password: admin.password });
  admin.accessToken = login.ok ? (await login.json()).accessToken : undefined;
  admin.api = api;
  return admin;
}

/** One worker agent on this machine with the shell tool; registers once, then reuses its credential. */
async function startLocalWorker(admin) {
  const agent = join(root, 'worker', 'dist', 'main.js');
  if (!existsSync(agent) || !services.some((s) => s.name === 'workers')) {
    log('skipping the local worker: the worker agent or the workers service is not built yet');
    return;
  }
  const stateDir = join(dataDir, 'worker');
  const args = ['start', '--url', `http://127.0.0.1:${PORT}`, '--name', 'local', '--slots', '4', '--state-dir', stateDir];
  // The agent refuses to run tasks unisolated unless told to. This local worker is the admin's own
  // (the platform gives an unisolated worker only its owners' tasks), so say so instead of failing.
  if (!findBubblewrap() && process.getuid?.() !== 0) {
    args.push('--isolation', 'none');
    log('the local worker runs tasks WITHOUT isolation (install bubblewrap to sandbox them); it takes only the admin’s tasks');
  }
  if (!existsSync(join(stateDir, 'worker.json'))) {
    const res = await admin.api('/workers/registration-tokens', { uses: 1, ttlSeconds: 600 }, admin.accessToken);
    if (!res.ok) throw new Error(`could not create a registration token: ${await res.text()}`);
    args.push('--token', (await res.json()).token);
  }
  startService({ name: 'worker' }, {}, agent, args, infra.agentNodeFlags(root));
  log('started a local worker agent (shell tool), state in .data/worker');
}

async function waitReady(url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let shuttingDown = false;
async function shutdown(code = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  log('stopping…');
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', resolve);
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  log('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  const natsSetup = await nats();
  const pgAdmin = await postgresUrl();
  // How `npm start` provides each variable a service's manifest `env` may name.
  const provided = { SECRETS_MASTER_KEY: secretsMasterKey, PUBLIC_URL: () => `http://localhost:${PORT}`, PORT: () => String(PORT) };
  for (const service of services) {
    const env = { ...natsEnv(natsSetup, service.name), HTTP_PORT: String(service.devHttpPort), LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' };
    if (service.database) env.DATABASE_URL = await ensureDatabase(pgAdmin, service.database);
    for (const variable of service.env) {
      if (!provided[variable])
        throw new Error(`infra/services.json: ${service.name} needs ${variable}, which infra/dev/start.mjs does not know how to provide`);
      env[variable] = provided[variable]();
    }
    startService(service, env);
    await waitReady(`http://127.0.0.1:${service.devHttpPort}/health/ready`);
  }
  const admin = await ensureAdmin();
  await startLocalWorker(admin);
  log('');
  log(`Agentyard is up: open http://localhost:${PORT}  (dashboard)`);
  log(`  log in as ${admin.username} / ${admin.password}  (kept in .data/admin.json)`);
  log(`  API docs  http://localhost:${PORT}/api/docs`);
  log(`  Ctrl-C stops everything started here.`);
} catch (e) {
  process.stderr.write(`[agentyard] could not start: ${e.message}\n`);
  await shutdown(1);
}

#!/usr/bin/env node
// `npm start`: the whole platform on one machine (brief §11). Reuses NATS (NATS_URL or
// 127.0.0.1:4222) and Postgres (AGENTYARD_PG_URL) when reachable; otherwise starts nats-server
// with JetStream and a local Postgres cluster under .data/. Creates each service's database,
// starts the services (each migrates its own schema), prints where to open it. Ctrl-C stops
// everything it started, in reverse order.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureNatsServer } from '../scripts/ensure-system-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// swc emits CommonJS whose exports Node's ESM loader cannot see by name: load it with require.
const infra = createRequire(import.meta.url)(join(root, 'services/libs/local-infra/dist/index.js'));
const dataDir = join(root, '.data');
mkdirSync(dataDir, { recursive: true });

const PORT = Number(process.env.PORT ?? 8080);
const NATS_PORT = Number(process.env.AGENTYARD_NATS_PORT ?? 4222);
const PG_PORT = Number(process.env.AGENTYARD_PG_PORT ?? 54329);
const services = [
  { name: 'auth', db: 'agentyard_auth', httpPort: 3101 },
  { name: 'gateway', httpPort: PORT },
];

const stops = [];
const children = [];
const log = (msg) => process.stdout.write(`[agentyard] ${msg}\n`);

async function natsUrl() {
  if (process.env.NATS_URL) return process.env.NATS_URL;
  if (await infra.isReachable(NATS_PORT)) {
    log(`reusing NATS on 127.0.0.1:${NATS_PORT}`);
    return `nats://127.0.0.1:${NATS_PORT}`;
  }
  process.env.NATS_SERVER_BIN = ensureNatsServer();
  const nats = await infra.startNatsServer({ port: NATS_PORT, dataDir: join(dataDir, 'nats') });
  stops.push(() => nats.stop());
  log(`started nats-server (JetStream) on ${nats.url}, data in .data/nats`);
  return nats.url;
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

function startService(service, env) {
  const child = spawn(process.execPath, [join(root, 'services', service.name, 'dist', 'main.js')], {
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
  const nats = await natsUrl();
  const pgAdmin = await postgresUrl();
  for (const service of services) {
    const env = { NATS_URL: nats, HTTP_PORT: String(service.httpPort), LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' };
    if (service.db) env.DATABASE_URL = await ensureDatabase(pgAdmin, service.db);
    if (service.name === 'gateway') env.PORT = String(PORT);
    startService(service, env);
    await waitReady(`http://127.0.0.1:${service.httpPort}/health/ready`);
  }
  log('');
  log(`Agentyard is up: open http://localhost:${PORT}`);
  log(`  API docs  http://localhost:${PORT}/api/docs`);
  log(`  Ctrl-C stops everything started here.`);
} catch (e) {
  process.stderr.write(`[agentyard] could not start: ${e.message}\n`);
  await shutdown(1);
}

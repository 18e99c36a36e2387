// What the tasks benchmarks share: the whole platform as real processes (own Postgres, services,
// worker agents), a registered user with a token, and a small JSON client for the gateway.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const infra = require(join(root, 'services/libs/local-infra/dist/index.js'));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One JSON request to the gateway; throws with the status and body on a non-2xx answer. A 429
 * (the edge's backpressure) is retried after its Retry-After, as a well-behaved client does.
 */
export async function api(base, token, method, path, body) {
  let res;
  for (;;) {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status !== 429) break;
    await res.arrayBuffer();
    await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Submits `count` tasks as fast as `clients` concurrent clients can (each waits for its answer). */
export async function burst(base, token, task, count, clients = 64) {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        next++;
        await api(base, token, 'POST', '/api/v1/tasks', task);
      }
    }),
  );
}

/**
 * Starts Postgres and the platform, registers a user and `workers` agents with `slots` each (and
 * `extraArgs` for their command line), and
 * waits until they are online. However the run ends, `stop()` (also on a crash) stops every
 * process it started, so a failed run leaves no load behind for the next one.
 */
export async function startBenchPlatform({ workers = 2, slots = 8, extraArgs = [], serviceEnv = {} } = {}) {
  // PROFILE=<service> records a CPU profile of that service (see cpu-profile.preload.cjs).
  const env = process.env.PROFILE
    ? { [process.env.PROFILE]: { NODE_OPTIONS: `--require ${process.env.PROFILE_PRELOAD ?? join(root, 'bench/tasks/cpu-profile.preload.cjs')}` } }
    : {};
  for (const [service, vars] of Object.entries(serviceEnv)) env[service] = { ...env[service], ...vars };
  const pgServer = await infra.startPostgresServer({ ephemeral: false });
  process.env.AGENTYARD_TEST_PG_URL = pgServer.url;
  // The per-user limit stays on (its count is part of what a create costs) but far above any backlog a bench queues.
  const platform = await infra.startPlatform({
    env: { ...env, gateway: { LOG_LEVEL: 'warn', ...env.gateway }, tasks: { USER_MAX_ACTIVE_TASKS: '1000000', ...env.tasks } },
  });
  const stop = async () => {
    await platform.stop().catch(() => undefined);
    await pgServer.stop().catch(() => undefined);
  };
  for (const event of ['uncaughtException', 'unhandledRejection']) {
    process.once(event, async (e) => {
      console.error(e);
      await stop();
      process.exit(1);
    });
  }
  const base = platform.url;
  await api(base, null, 'POST', '/api/v1/auth/register', { username: 'bench', email: 'bench@example.com', password: 'bench-password' });
  const { accessToken: token } = await api(base, null, 'POST', '/api/v1/auth/login', { username: 'bench', password: 'bench-password' });
  const agents = [];
  for (let w = 0; w < workers; w++) {
    const { token: reg } = await api(base, token, 'POST', '/api/v1/workers/registration-tokens', { uses: 1 });
    // PROFILE=agent records a CPU profile of each agent the same way.
    const agentEnv = process.env.PROFILE === 'agent' ? env.agent : undefined;
    agents.push(platform.startWorker({ token: reg, name: `bench-${w}`, slots, extraArgs, ...(agentEnv ? { env: agentEnv } : {}) }));
  }
  for (;;) {
    const { items } = await api(base, token, 'GET', '/api/v1/workers');
    if (items.filter((w) => w.status === 'online').length === workers) break;
    await sleep(200);
  }
  return { platform, base, token, agents, stop };
}

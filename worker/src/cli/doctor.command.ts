/*
 * `agentyard-worker doctor`: what this machine offers and whether it can reach the platform.
 * Prints tools (with versions), CPU/memory/disk, the state dir, the task isolation `start` would
 * apply (probed for real), stored credentials, and checks the platform's /health/ready and — once
 * registered — NATS. Exit 0 when every check passes, else 1. Missing credentials are not a
 * failure: `start --token` will register. Tasks that would run unisolated are one.
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import type { WorkerNatsCredentials } from '@agentyard/contracts/agent';
import { describeError, type Logger } from '../logging/logger';
import { normaliseUrl, type WorkerOptions } from '../config/worker-options';
import { CredentialStore, type StoredRegistration } from '../registration/credential.store';
import { natsConnectionOptions } from '../registration/nats-credentials';
import { fetchNatsCredentials } from '../registration/registration.client';
import { SystemSampler } from '../system/system-sampler';
import { allTools, detectTools } from '../tools/tool-registry';
import { agentVersion } from '../version';
import { requestJson } from '../system/http-json';
import { detectIsolation } from '../isolation/task-isolation';

/** Doctor prints its own lines; the platform client's retry warnings would only repeat them. */
const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface Check {
  ok: boolean;
  line: string;
}

export async function runDoctor(options: WorkerOptions, print: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const checks: Check[] = [];
  print(`agentyard-worker ${agentVersion} doctor`);

  const tools = await detectTools(allTools(process.env));
  print('tools:');
  for (const tool of allTools(process.env)) {
    const found = tools.list.find((t) => t.name === tool.name);
    const unhealthy = found?.health === 'unhealthy' ? ` — UNHEALTHY: ${found.detail ?? `credentials ${found.auth}`}` : '';
    print(
      `  ${found && !unhealthy ? 'ok  ' : found ? '!!  ' : '--  '}${tool.name.padEnd(12)} ${found ? (found.version ?? 'available') : 'not found'}${unhealthy}`,
    );
  }
  checks.push({ ok: tools.available.has('shell'), line: 'shell tool (/bin/sh)' });

  const stateOk = ensureWritable(options.stateDir);
  print(`state dir: ${options.stateDir} (${stateOk ? 'writable' : 'NOT writable'})`);
  checks.push({ ok: stateOk, line: 'state dir writable' });

  if (stateOk) {
    const detected = await detectIsolation(options.isolation, options.stateDir);
    if (!detected.ok) print(`isolation: NOT AVAILABLE — ${detected.message}`);
    else print(`isolation: ${detected.isolation.description}`);
    if (detected.ok) for (const problem of detected.tried) print(`  (not used: ${problem})`);
    checks.push({ ok: detected.ok && detected.isolation.level !== 'none', line: 'tasks isolated from the agent' });
  }

  const sampler = new SystemSampler(existsSync(options.stateDir) ? options.stateDir : '/');
  try {
    const [resources, sample] = await Promise.all([sampler.resources(), sampler.sample()]);
    print(`cpu: ${resources.cpus} cores, ${sample.cpuPercent} % busy`);
    print(`memory: ${sample.memUsedMb} MB used of ${sample.memTotalMb} MB`);
    print(`disk (state dir): ${sample.diskFreeMb} MB free of ${sample.diskTotalMb} MB`);
  } catch (error) {
    print(`resources: could not be read (${describeError(error)})`);
    checks.push({ ok: false, line: 'resources readable' });
  }

  let registration: StoredRegistration | undefined;
  const url = options.url ? normaliseUrl(options.url) : undefined;
  try {
    const store = new CredentialStore(options.stateDir);
    const all = store.all();
    registration = url ? store.find(url) : all.length === 1 ? all[0] : undefined;
    if (registration) print(`credentials: worker ${registration.workerId} ("${registration.name}") for ${registration.url}, stored in ${store.path}`);
    else print(`credentials: none${url ? ` for ${url}` : ''} (start --token <registration-token> registers this machine)`);
  } catch (error) {
    print(`credentials: unreadable (${describeError(error)})`);
    checks.push({ ok: false, line: 'credentials file readable' });
  }

  const platformUrl = url ?? registration?.url;
  if (!platformUrl) {
    print('platform: no URL (pass --url http://host:8080)');
    checks.push({ ok: false, line: 'platform URL known' });
  } else {
    const ready = await checkReady(platformUrl);
    print(`platform: ${platformUrl}/health/ready ${ready.ok ? 'ok' : 'FAILED'} (${ready.detail})`);
    checks.push({ ok: ready.ok, line: 'platform ready' });
  }

  if (registration) {
    let credentials: WorkerNatsCredentials | undefined;
    try {
      credentials = await fetchNatsCredentials(registration.url, registration, { logger: silent, signal: AbortSignal.timeout(5_000), initialDelayMs: 500 });
      print(
        `nats credentials: ${credentials.creds ? `own subjects only, valid until ${credentials.expiresAt}` : 'none (the platform runs NATS without auth)'}`,
      );
    } catch (error) {
      print(`nats credentials: NOT obtained (${describeError(error)})`);
      checks.push({ ok: false, line: 'NATS credentials' });
    }
    const nats = await checkNats(registration.natsUrl, credentials);
    print(`nats: ${registration.natsUrl} ${nats.ok ? 'reachable' : 'NOT reachable'}${nats.detail ? ` (${nats.detail})` : ''}`);
    checks.push({ ok: nats.ok, line: 'NATS reachable' });
  }

  const failed = checks.filter((c) => !c.ok);
  print(failed.length === 0 ? 'result: all good' : `result: ${failed.length} problem(s): ${failed.map((c) => c.line).join(', ')}`);
  return failed.length === 0 ? 0 : 1;
}

function ensureWritable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function checkReady(baseUrl: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const response = await requestJson('GET', new URL('health/ready', `${baseUrl}/`).toString(), undefined, AbortSignal.timeout(5_000));
    return { ok: response.status >= 200 && response.status < 300, detail: `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, detail: describeError(error instanceof Error && error.cause instanceof Error ? error.cause : error) };
  }
}

/**
 * Whether NATS takes a connection as the worker's user. Three tries half a second apart: on a
 * busy machine one connect can miss the server's authentication deadline (the server then drops
 * it: EPIPE), which says nothing about the worker's NATS access; three misses in a row do.
 */
async function checkNats(servers: string, credentials: WorkerNatsCredentials | undefined): Promise<{ ok: boolean; detail?: string }> {
  const auth = credentials ? natsConnectionOptions(credentials) : {};
  let detail = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
    try {
      const nc = await connect({ servers, name: 'agentyard-worker-doctor', timeout: 3_000, reconnect: false, maxReconnectAttempts: 0, ...auth });
      await nc.close();
      return { ok: true };
    } catch (error) {
      detail = describeError(error);
    }
  }
  return { ok: false, detail };
}

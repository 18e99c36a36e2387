/*
 * User secrets end to end: every service, nats-server (operator mode), Postgres and two real
 * worker agents as processes. A user stores secrets (encrypted at rest in auth's database), a
 * task references one by name, the agent running the task's current attempt fetches the value
 * over HTTP and the process gets it in its environment — and the value appears in no event, no
 * JetStream message, no database row in clear, no service or agent log line and no API answer
 * other than the agent's own fetch. Workers that do not hold the attempt are refused; a deleted
 * secret fails the task that still references it, saying so.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Client } from 'pg';
import type { CreatedApiToken, Envelope, Secret, TaskView, WorkerView } from '@agentyard/contracts';
import { startPlatform, type Platform, type WorkerAgentProcess } from '@agentyard/local-infra';
import { ApiClient, eventually, type Reply } from './support/api-client';
import { LiveSocket } from './support/live-socket';

let platform: Platform;
let api: ApiClient;
let alice: { client: ApiClient; userId: string; token: string };
let mallory: { client: ApiClient; userId: string; token: string };
const agents: { process: WorkerAgentProcess; id: string }[] = [];
let nc: NatsConnection;

/** Every value stored during the suite: the last test searches the whole platform for each. */
const values: string[] = [];
const newValue = (label: string): string => {
  const value = `${label}-${randomBytes(16).toString('hex')}`;
  values.push(value);
  return value;
};
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
/** Every API answer the suite received, searched for values at the end. */
const answers: string[] = [];

async function call<T = Record<string, unknown>>(
  client: ApiClient,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<Reply<T>> {
  const res = await client.call<T>(method, path, body, headers);
  answers.push(JSON.stringify(res.body));
  return res;
}

async function createSecret(client: ApiClient, name: string, value: string): Promise<Secret> {
  const res = await call<Secret>(client, 'POST', '/api/v1/secrets', { name, value });
  if (res.status !== 201) throw new Error(`create secret: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function createTask(client: ApiClient, command: string, env: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<TaskView> {
  const res = await call<TaskView>(client, 'POST', '/api/v1/tasks', { description: 'uses a secret', tool: 'shell', input: { command, env }, ...extra });
  if (res.status !== 201) throw new Error(`create task: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const taskIn = (client: ApiClient, id: string, statuses: string[], timeoutMs = 60_000) =>
  eventually(
    `task ${id} to reach ${statuses.join('/')}`,
    async () => {
      const res = await call<TaskView>(client, 'GET', `/api/v1/tasks/${id}`);
      return statuses.includes(res.body.status) ? res.body : undefined;
    },
    timeoutMs,
  );

const credentialOf = (agent: WorkerAgentProcess): string =>
  (JSON.parse(readFileSync(join(agent.stateDir, 'worker.json'), 'utf8')) as { registrations: Array<{ credential: string }> }).registrations[0]!.credential;

const askSecrets = (workerId: string, credential: string | undefined, taskId: string, attempt: number) =>
  call<{ values?: Record<string, string>; message?: string }>(
    api,
    'POST',
    `/api/v1/workers/${workerId}/tasks/${taskId}/secrets`,
    { attempt },
    credential ? { authorization: `Worker ${credential}` } : {},
  );

async function sql<T extends Record<string, unknown>>(url: string, query: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(query)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  platform = await startPlatform({
    // The most talkative logs, so the search for values in them means something.
    env: {
      auth: { LOG_LEVEL: 'debug' },
      workers: { LOG_LEVEL: 'debug', OFFLINE_AFTER_MS: '4000', SWEEP_INTERVAL_MS: '500', HEARTBEAT_INTERVAL_MS: '1000' },
      tasks: { LOG_LEVEL: 'debug', TIMEOUT_SCAN_INTERVAL_MS: '500' },
      allocation: { LOG_LEVEL: 'debug' },
      gateway: { LOG_LEVEL: 'debug' },
    },
    keepOutputBytes: 20_000_000,
  });
  api = new ApiClient(platform.url);
  alice = await api.signUp('alice');
  mallory = await api.signUp('mallory');
  for (const name of ['secrets-a', 'secrets-b']) {
    const token = await call<{ token: string }>(alice.client, 'POST', '/api/v1/workers/registration-tokens', { uses: 1 });
    const process = platform.startWorker({ token: token.body.token, name, slots: 4, env: { AGENTYARD_LOG_LEVEL: 'debug' } });
    const id = await eventually(`${name} online`, async () => {
      const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
      return res.body.items.find((w) => w.name === name && w.status === 'online')?.id;
    });
    agents.push({ process, id });
  }
  nc = await connect({ servers: platform.nats.url, authenticator: credsAuthenticator(readFileSync(platform.natsCredsFile!)) });
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await platform?.stop();
});

describe('Secrets', () => {
  describe('managed through the API', () => {
    it('are created, listed by name only, changed and deleted', async () => {
      const value = newValue('crud');
      const created = await call<Secret>(alice.client, 'POST', '/api/v1/secrets', { name: 'crud_token', value });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ name: 'crud_token', createdAt: expect.any(String), updatedAt: expect.any(String) });

      const list = await call<{ items: Secret[] }>(alice.client, 'GET', '/api/v1/secrets');
      expect(list.status).toBe(200);
      expect(list.body.items.map((s) => s.name)).toContain('crud_token');
      expect(Object.keys(list.body.items[0]!).sort()).toEqual(['createdAt', 'name', 'updatedAt']);

      const again = await call(alice.client, 'POST', '/api/v1/secrets', { name: 'crud_token', value: 'other value' });
      expect(again.status).toBe(409);
      expect(String(again.body.message)).toMatch(/already have a secret named crud_token.*PUT/);

      const changed = await call<Secret>(alice.client, 'PUT', '/api/v1/secrets/crud_token', { value: newValue('crud-changed') });
      expect(changed.status).toBe(200);
      expect(Date.parse(changed.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.body.updatedAt));
      expect(changed.body.createdAt).toBe(created.body.createdAt);

      expect((await call(alice.client, 'DELETE', '/api/v1/secrets/crud_token')).status).toBe(204);
      expect((await call<{ items: Secret[] }>(alice.client, 'GET', '/api/v1/secrets')).body.items.map((s) => s.name)).not.toContain('crud_token');
      for (const [method, body] of [
        ['PUT', { value: 'x' }],
        ['DELETE', undefined],
      ] as const) {
        const res = await call(alice.client, method, '/api/v1/secrets/crud_token', body);
        expect({ method, status: res.status, message: res.body.message }).toEqual({ method, status: 404, message: 'you have no secret named crud_token' });
      }
    });

    it.each([
      { name: 'a name with a space', body: { name: 'bad name', value: 'v' }, message: /name: a secret name is a letter or _/ },
      { name: 'a name starting with a digit', body: { name: '1password', value: 'v' }, message: /name: a secret name/ },
      { name: 'a 65-character name', body: { name: `a${'b'.repeat(64)}`, value: 'v' }, message: /name: a secret name/ },
      { name: 'an empty value', body: { name: 'ok_name', value: '' }, message: /value: value is required/ },
      { name: 'a value over 32 KiB', body: { name: 'ok_name', value: 'é'.repeat(16 * 1024 + 1) }, message: /value: value must be at most 32 KiB/ },
      { name: 'a NUL byte in the value', body: { name: 'ok_name', value: 'a\u0000b' }, message: /value: value may not contain NUL bytes/ },
      { name: 'an unknown field', body: { name: 'ok_name', value: 'v', description: 'x' }, message: /description/ },
      { name: 'a missing value', body: { name: 'ok_name' }, message: /value/ },
    ])('refuses $name with a 400 naming the field, and stores nothing', async ({ body, message }) => {
      const res = await call(alice.client, 'POST', '/api/v1/secrets', body);
      expect(res.status).toBe(400);
      expect(String(res.body.message)).toMatch(message);
      expect((await call<{ items: Secret[] }>(alice.client, 'GET', '/api/v1/secrets')).body.items.map((s) => s.name)).not.toContain('ok_name');
    });

    it('answers a name no secret can have with 404, and a bad update body with 400', async () => {
      await createSecret(alice.client, 'shape_check', newValue('shape'));
      expect((await call(alice.client, 'PUT', '/api/v1/secrets/bad%20name', { value: 'v' })).status).toBe(404);
      expect((await call(alice.client, 'DELETE', '/api/v1/secrets/..%2Fetc')).status).toBe(404);
      const bad = await call(alice.client, 'PUT', '/api/v1/secrets/shape_check', { value: 'v', name: 'renamed' });
      expect(bad.status).toBe(400);
      expect(String(bad.body.message)).toMatch(/name/);
      expect((await call(api, 'GET', '/api/v1/secrets')).status).toBe(401);
    });

    it("keeps each user's secrets invisible to the others (404), and names are per user", async () => {
      await createSecret(alice.client, 'alice_only', newValue('alice-only'));
      const m = mallory.client;
      expect((await call<{ items: Secret[] }>(m, 'GET', '/api/v1/secrets')).body.items).toEqual([]);
      expect((await call(m, 'PUT', '/api/v1/secrets/alice_only', { value: 'overwrite' })).status).toBe(404);
      expect((await call(m, 'DELETE', '/api/v1/secrets/alice_only')).status).toBe(404);
      // Referencing it from her own task: the same answer as for a name nobody has.
      const task = await call(m, 'POST', '/api/v1/tasks', {
        description: 'x',
        tool: 'shell',
        input: { command: 'true', env: { T: { secret: 'alice_only' } } },
      });
      expect(task.status).toBe(400);
      expect(task.body.message).toBe('secret alice_only does not exist: create it first (POST /api/v1/secrets)');
      // Her own secret of the same name is hers alone.
      await createSecret(m, 'alice_only', newValue('mallory-same-name'));
      expect((await call<{ items: Secret[] }>(alice.client, 'GET', '/api/v1/secrets')).body.items.filter((s) => s.name === 'alice_only')).toHaveLength(1);
      expect((await call(alice.client, 'DELETE', '/api/v1/secrets/alice_only')).status).toBe(204);
      expect((await call<{ items: Secret[] }>(m, 'GET', '/api/v1/secrets')).body.items.map((s) => s.name)).toEqual(['alice_only']);
    });

    it('need the secrets:read / secrets:write scopes from an API token, and secrets:read to reference one in a task', async () => {
      await createSecret(alice.client, 'scoped', newValue('scoped'));
      const token = async (scopes: string[]) =>
        api.as((await call<CreatedApiToken>(alice.client, 'POST', '/api/v1/auth/tokens', { name: scopes.join(' '), scopes })).body.token);
      const tasksOnly = await token(['tasks:read', 'tasks:write']);
      expect((await call(tasksOnly, 'GET', '/api/v1/secrets')).body.message).toBe('this API token lacks the secrets:read scope');
      expect((await call(tasksOnly, 'POST', '/api/v1/secrets', { name: 'x_from_token', value: 'v' })).status).toBe(403);
      const refusedTask = await call(tasksOnly, 'POST', '/api/v1/tasks', {
        description: 'x',
        tool: 'shell',
        input: { command: 'true', env: { T: { secret: 'scoped' } } },
      });
      expect(refusedTask.status).toBe(403);
      expect(String(refusedTask.body.message)).toMatch(/secrets:read/);

      const reader = await token(['secrets:read', 'tasks:write']);
      expect((await call<{ items: Secret[] }>(reader, 'GET', '/api/v1/secrets')).body.items.map((s) => s.name)).toContain('scoped');
      expect((await call(reader, 'PUT', '/api/v1/secrets/scoped', { value: 'v' })).body.message).toBe('this API token lacks the secrets:write scope');
      expect((await call(reader, 'POST', '/api/v1/tasks', { description: 'x', tool: 'noop', input: {} })).status).toBe(201);
      const writer = await token(['secrets:write']);
      expect((await call(writer, 'POST', '/api/v1/secrets', { name: 'from_token', value: newValue('from-token') })).status).toBe(201);
    });

    it('are encrypted at rest: the auth database holds no value in clear, only AES-GCM ciphertext and a key id', async () => {
      const value = newValue('at-rest');
      await createSecret(alice.client, 'at_rest', value);
      const [row] = await sql<{ key_id: string; nonce: Buffer; ciphertext: Buffer }>(
        platform.databases.auth,
        "select key_id, nonce, ciphertext from secrets where name = 'at_rest'",
      );
      expect(row!.key_id).toMatch(/^[0-9a-f]{16}$/);
      expect(row!.nonce).toHaveLength(12);
      expect(row!.ciphertext).toHaveLength(Buffer.byteLength(value) + 16);
      expect(row!.ciphertext.includes(Buffer.from(value))).toBe(false);
      // Every row of every table of auth's database, as text: neither the value nor its hex form.
      const dump = await dumpDatabase(platform.databases.auth);
      expect(dump).not.toContain(value);
      expect(dump).not.toContain(Buffer.from(value).toString('hex'));
    });
  });

  describe('referenced by a task', () => {
    it('reach the process on the worker, masked in its output, and its events carry the name only', async () => {
      const value = newValue('run');
      await createSecret(alice.client, 'run_token', value);
      const live = await LiveSocket.open(platform.url, alice.token);
      const task = await createTask(
        alice.client,
        [
          // The process proves it has the value without the command containing it.
          `test "$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)" = "${sha256(value)}" && echo secret-ok`,
          'echo "printed:$TOKEN plain:$PLAIN"',
          // Printed in two pieces 300 ms apart: two output chunks, the value masked across them.
          "printf 'split:'; printf '%s' \"$TOKEN\" | cut -c1-12 | tr -d '\\n'; sleep 0.3; printf '%s\\n' \"$TOKEN\" | cut -c13-",
        ].join('; '),
        { TOKEN: { secret: 'run_token' }, PLAIN: 'visible' },
      );
      expect(task.input).toEqual(expect.objectContaining({ env: { TOKEN: { secret: 'run_token' }, PLAIN: 'visible' } }));
      const done = await taskIn(alice.client, task.id, ['succeeded', 'failed']);
      expect(done.status).toBe('succeeded');
      expect(done.result?.outputTail).toContain('secret-ok');
      expect(done.result?.outputTail).toContain('printed:*** plain:visible');
      expect(done.result?.outputTail).toContain('split:***');
      expect(done.result?.outputTail).not.toContain(value);

      await eventually('the task finished on the socket', async () => (live.eventsOf(task.id).some((e) => e.type === 'TaskSucceeded') ? true : undefined));
      const liveText = live.output
        .filter((c) => c.taskId === task.id)
        .map((c) => c.data)
        .join('');
      expect(liveText).toContain('split:***');
      expect(JSON.stringify(live.events) + JSON.stringify(live.output)).not.toContain(value);
      live.close();

      const history = await call<{ items: Envelope[] }>(alice.client, 'GET', `/api/v1/tasks/${task.id}/events`);
      const created = history.body.items.find((e) => e.type === 'TaskCreated');
      expect((created?.data as { input: unknown }).input).toEqual({ command: expect.any(String), env: { TOKEN: { secret: 'run_token' }, PLAIN: 'visible' } });
      await call(alice.client, 'GET', '/api/v1/tasks?limit=200');
      await call(alice.client, 'GET', `/api/v1/tasks/${task.id}/allocation`);

      // The hand-over is audited in auth's stream: names, task, attempt and worker — no value.
      const audit = await eventually('the SecretsResolved event', async () => {
        const rows = await sql<{ data: { taskId: string } }>(platform.databases.auth, "select data from event_store.events where type = 'SecretsResolved'");
        return rows.find((r) => r.data.taskId === task.id)?.data;
      });
      expect(audit).toEqual({ userId: alice.userId, names: ['run_token'], taskId: task.id, attempt: 1, workerId: done.workerId });
    }, 90_000);

    it('get the current value: a task started after an update sees the new one', async () => {
      await createSecret(alice.client, 'rotating', newValue('before'));
      const after = newValue('after');
      expect((await call(alice.client, 'PUT', '/api/v1/secrets/rotating', { value: after })).status).toBe(200);
      const task = await createTask(alice.client, `test "$(printf '%s' "$T" | sha256sum | cut -d' ' -f1)" = "${sha256(after)}" && echo new-value`, {
        T: { secret: 'rotating' },
      });
      const done = await taskIn(alice.client, task.id, ['succeeded', 'failed']);
      expect(done.status).toBe('succeeded');
      expect(done.result?.outputTail).toContain('new-value');
    });

    it('that do not exist make the task a 400 naming the secret and the variable, and nothing is created', async () => {
      const before = (await call<{ items: TaskView[] }>(alice.client, 'GET', '/api/v1/tasks?limit=200')).body.items.length;
      const res = await call<{ message: string; details: unknown }>(alice.client, 'POST', '/api/v1/tasks', {
        description: 'x',
        tool: 'shell',
        input: { command: 'true', env: { GH: { secret: 'nope_1' }, NPM: { secret: 'nope_2' } } },
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('secrets nope_1, nope_2 do not exist: create them first (POST /api/v1/secrets)');
      expect(res.body.details).toEqual([
        { field: 'input.env.GH', message: 'you have no secret named nope_1' },
        { field: 'input.env.NPM', message: 'you have no secret named nope_2' },
      ]);
      const malformed = await call(alice.client, 'POST', '/api/v1/tasks', {
        description: 'x',
        tool: 'shell',
        input: { command: 'true', env: { GH: { secret: 'bad name' } } },
      });
      expect(malformed.status).toBe(400);
      expect(String(malformed.body.message)).toMatch(/input.env.GH.secret: a secret name/);
      expect((await call<{ items: TaskView[] }>(alice.client, 'GET', '/api/v1/tasks?limit=200')).body.items).toHaveLength(before);
    });

    it('that were deleted since make the task fail with that reason, not hang', async () => {
      await createSecret(alice.client, 'ephemeral', newValue('ephemeral'));
      // A first run that fails on its own (a retry is for failed tasks), with the secret present.
      const task = await createTask(alice.client, 'echo ran-with-it; exit 3', { E: { secret: 'ephemeral' } }, { maxAttempts: 1 });
      expect(await taskIn(alice.client, task.id, ['succeeded', 'failed'])).toMatchObject({ status: 'failed', result: { exitCode: 3 } });
      expect((await call(alice.client, 'DELETE', '/api/v1/secrets/ephemeral')).status).toBe(204);

      expect((await call(alice.client, 'POST', `/api/v1/tasks/${task.id}/retry`)).status).toBe(200);
      const failed = await taskIn(alice.client, task.id, ['failed', 'succeeded'], 30_000);
      expect(failed).toMatchObject({ status: 'failed', attempt: 2, result: { error: 'secret ephemeral was deleted' } });
      const history = await call<{ items: Envelope[] }>(alice.client, 'GET', `/api/v1/tasks/${task.id}/events`);
      expect(history.body.items.filter((e) => e.type === 'TaskFailed').map((e) => (e.data as { reason: string }).reason)).toEqual([
        'exited with code 3',
        'secret ephemeral was deleted',
      ]);
      expect(history.body.items.filter((e) => e.type === 'TaskStarted')).toHaveLength(1);
    });
  });

  describe('given to agents', () => {
    it('only to the worker holding the current attempt: another worker, a wrong or stale attempt and a user are refused', async () => {
      const value = newValue('fenced');
      await createSecret(alice.client, 'fenced', value);
      const task = await createTask(alice.client, 'sleep 30', { F: { secret: 'fenced' } });
      const running = await taskIn(alice.client, task.id, ['running']);
      const holder = agents.find((a) => a.id === running.workerId)!;
      const other = agents.find((a) => a.id !== running.workerId)!;

      const own = await askSecrets(holder.id, credentialOf(holder.process), task.id, running.attempt);
      expect(own.status).toBe(200);
      expect(own.headers.get('cache-control')).toBe('no-store');
      expect(own.body.values).toEqual({ fenced: value });
      answers.pop(); // the one answer meant to carry the value

      const foreign = await askSecrets(other.id, credentialOf(other.process), task.id, running.attempt);
      expect({ status: foreign.status, message: foreign.body.message }).toEqual({ status: 403, message: 'this worker does not hold the task' });
      const borrowed = await askSecrets(holder.id, credentialOf(other.process), task.id, running.attempt);
      expect({ status: borrowed.status, message: borrowed.body.message }).toEqual({ status: 403, message: 'this credential belongs to another worker' });
      const wrongAttempt = await askSecrets(holder.id, credentialOf(holder.process), task.id, running.attempt + 1);
      expect(wrongAttempt.status).toBe(403);
      expect(wrongAttempt.body.message).toBe(`attempt ${running.attempt + 1} is not the task's current attempt ${running.attempt}`);
      expect((await askSecrets(holder.id, undefined, task.id, running.attempt)).status).toBe(401);
      expect((await call(alice.client, 'POST', `/api/v1/workers/${holder.id}/tasks/${task.id}/secrets`, { attempt: 1 })).status).toBe(401);
      expect((await askSecrets(holder.id, credentialOf(holder.process), '01900000-0000-7000-8000-00000000beef', 1)).status).toBe(404);
      const badBody = await call(
        api,
        'POST',
        `/api/v1/workers/${holder.id}/tasks/${task.id}/secrets`,
        { attempt: 'one' },
        { authorization: `Worker ${credentialOf(holder.process)}` },
      );
      expect(badBody.status).toBe(400);

      // Once the attempt has ended, the attempt that held them is stale.
      expect((await call(alice.client, 'POST', `/api/v1/tasks/${task.id}/cancel`)).status).toBe(200);
      await taskIn(alice.client, task.id, ['cancelled']);
      const stale = await askSecrets(holder.id, credentialOf(holder.process), task.id, running.attempt);
      expect({ status: stale.status, message: stale.body.message }).toEqual({
        status: 403,
        message: 'the task is cancelled; its secrets are given only to a live attempt',
      });
    }, 60_000);
  });

  describe('after all of the above', () => {
    it('leave no value in any event store, JetStream message, database row, log line or API answer', async () => {
      expect(values.length).toBeGreaterThan(5);
      const haystacks: Record<string, string> = {};
      for (const [service, url] of Object.entries(platform.databases)) haystacks[`${service} database`] = await dumpDatabase(url);
      haystacks['JetStream'] = await dumpJetStream(nc);
      for (const service of ['auth', 'tasks', 'workers', 'allocation', 'gateway'] as const) haystacks[`${service} log`] = platform.service(service).output();
      for (const agent of agents) haystacks[`agent ${agent.id} log`] = agent.process.output();
      haystacks['API answers'] = answers.join('\n');

      // The haystacks are real: they hold what the suite did.
      expect(haystacks['tasks database']).toContain('run_token');
      expect(haystacks['JetStream']).toContain('SecretsResolved');
      expect(haystacks['auth log']).toMatch(/"level":20|"level":30/);
      expect(haystacks['API answers']).toContain('secret-ok');
      for (const [where, text] of Object.entries(haystacks)) {
        for (const value of values) {
          expect({ where, leaked: text.includes(value) || text.includes(Buffer.from(value).toString('hex')) }).toEqual({ where, leaked: false });
        }
      }
    }, 60_000);
  });
});

/** Every row of every table in the public and event_store schemas, as text. */
async function dumpDatabase(url: string): Promise<string> {
  const tables = await sql<{ schema: string; name: string }>(
    url,
    "select table_schema as schema, table_name as name from information_schema.tables where table_schema in ('public', 'event_store') and table_type = 'BASE TABLE'",
  );
  const parts: string[] = [];
  for (const t of tables) {
    const rows = await sql<{ row: string }>(url, `select t::text as row from "${t.schema}"."${t.name}" t`);
    parts.push(...rows.map((r) => r.row));
  }
  return parts.join('\n');
}

/** Every message of every JetStream stream (the context streams, WORK, DLQ, KV buckets), as text. */
async function dumpJetStream(conn: NatsConnection): Promise<string> {
  const jsm = await jetstreamManager(conn);
  const parts: string[] = [];
  for await (const info of jsm.streams.list()) {
    const { first_seq: first, last_seq: last } = info.state;
    for (let seq = first; seq <= last && last > 0; seq++) {
      const msg = await jsm.streams.getMessage(info.config.name, { seq }).catch(() => null);
      if (msg) parts.push(`${info.config.name} ${msg.subject} ${new TextDecoder().decode(msg.data)}`);
    }
  }
  return parts.join('\n');
}

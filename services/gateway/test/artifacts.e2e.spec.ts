/*
 * Logs and artifacts end to end on the real platform (every service, nats-server in operator
 * mode, Postgres): a worker registered through the API, kept online by HTTP heartbeats and
 * holding an attempt it pulled (pull mode, so no agent process is needed), uploads with plain
 * fetch exactly as an agent would; its owner lists and downloads. Bytes cross NATS in chunks
 * (3 MiB here is six of them). Fencing, names, checksums, the size limit (lowered to 8 MiB for
 * speed), ownership and deletion are each checked, and a refused upload leaves no row behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { Client } from 'pg';
import { artifactUploadPath, type ArtifactList, type TaskView } from '@agentyard/contracts';
import { startPlatform, type Platform } from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';

const LIMIT = 8 * 1024 * 1024;
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

let platform: Platform;
let api: ApiClient;
let alice: { client: ApiClient; userId: string; token: string };
let mallory: { client: ApiClient; userId: string; token: string };
const heartbeats: NodeJS.Timeout[] = [];

interface Worker {
  id: string;
  credential: string;
}

/** A worker of `owner` registered through the API, kept online with HTTP heartbeats. */
async function onlineWorker(owner: ApiClient, name: string): Promise<Worker> {
  const token = await owner.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
  const registered = await api.post<{ workerId: string; credential: string }>('/api/v1/workers/register', {
    token: token.body.token,
    name,
    hostname: 'artifacts-e2e',
    platform: 'linux',
    arch: 'x64',
    tools: [{ name: 'noop', version: null }],
    slots: 1,
    resources: { cpus: 1, memoryMb: 1024, diskMb: 1024 },
    agentVersion: 'e2e',
  });
  expect(registered.status).toBe(201);
  const worker = { id: registered.body.workerId, credential: registered.body.credential };
  const beat = () =>
    api.call(
      'POST',
      `/api/v1/workers/${worker.id}/heartbeat`,
      {
        workerId: worker.id,
        sentAt: new Date().toISOString(),
        cpuPercent: 1,
        memUsedMb: 100,
        memTotalMb: 1024,
        diskFreeMb: 1024,
        diskTotalMb: 2048,
        slots: { total: 1, used: 0 },
        running: [],
        tools: [{ name: 'noop', version: null }],
        draining: false,
      },
      { authorization: `Worker ${worker.credential}` },
    );
  expect((await beat()).status).toBe(204);
  heartbeats.push(setInterval(() => void beat().catch(() => undefined), 1_000));
  await eventually(`${name} online`, async () => {
    const res = await owner.get<{ status: string }>(`/api/v1/workers/${worker.id}`);
    return res.body.status === 'online' ? true : undefined;
  });
  return worker;
}

/** A noop task pinned to `worker`, assigned and pulled: the worker holds its attempt 1. */
async function heldTask(owner: ApiClient, worker: Worker): Promise<string> {
  const created = await owner.post<TaskView>('/api/v1/tasks', { description: 'has artifacts', tool: 'noop', input: {}, requirements: { workerId: worker.id } });
  expect(created.status).toBe(201);
  const taskId = created.body.id;
  await eventually(`task ${taskId} assigned and pulled`, async () => {
    const res = await api.call<{ taskId?: string; attempt?: number }>('GET', `/api/v1/workers/${worker.id}/pull-task`, undefined, {
      authorization: `Worker ${worker.credential}`,
    });
    return res.status === 200 && res.body.taskId === taskId && res.body.attempt === 1 ? true : undefined;
  });
  return taskId;
}

interface UploadOptions {
  attempt?: number;
  sha?: string;
  contentType?: string;
  /** Send the body as a stream without Content-Length (chunked). */
  chunked?: boolean;
}

async function upload(
  worker: Worker,
  taskId: string,
  name: string,
  data: Buffer,
  o: UploadOptions = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const path = artifactUploadPath(worker.id, taskId, o.attempt ?? 1, name);
  const body = o.chunked
    ? new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < data.length; at += 256 * 1024) controller.enqueue(data.subarray(at, at + 256 * 1024));
          controller.close();
        },
      })
    : data;
  const res = await fetch(`${platform.url}${path}`, {
    method: 'PUT',
    headers: {
      authorization: `Worker ${worker.credential}`,
      'content-type': o.contentType ?? 'application/octet-stream',
      'x-content-sha256': o.sha ?? sha256(data),
    },
    body,
    ...(o.chunked ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function download(client: ApiClient, path: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(`${platform.url}${path}`, { headers: { authorization: `Bearer ${(client as unknown as { token: string }).token}` } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Rows of the tasks database's artifact tables for a task: every upload (committed or not) and every chunk. */
async function storedRows(taskId: string): Promise<{ artifacts: number; pending: number; chunks: number }> {
  const client = new Client({ connectionString: platform.databases.tasks });
  await client.connect();
  try {
    const { rows } = await client.query<{ artifacts: string; pending: string; chunks: string }>(
      `select (select count(*) from artifacts where task_id = $1) as artifacts,
              (select count(*) from artifacts where task_id = $1 and not complete) as pending,
              (select count(*) from artifact_chunks c join artifacts a on a.id = c.artifact_id where a.task_id = $1) as chunks`,
      [taskId],
    );
    return { artifacts: Number(rows[0]!.artifacts), pending: Number(rows[0]!.pending), chunks: Number(rows[0]!.chunks) };
  } finally {
    await client.end();
  }
}

let worker: Worker;
let taskId: string;

beforeAll(async () => {
  platform = await startPlatform({
    env: {
      // The pulled attempt stays assigned (never started) for the whole suite.
      tasks: { TASK_LEASE_MS: '600000', ARTIFACT_MAX_BYTES: String(LIMIT) },
      gateway: { ARTIFACT_MAX_BYTES: String(LIMIT) },
    },
  });
  api = new ApiClient(platform.url);
  alice = await api.signUp('alice');
  mallory = await api.signUp('mallory');
  worker = await onlineWorker(alice.client, 'artifact-box');
  taskId = await heldTask(alice.client, worker);
}, 120_000);

afterAll(async () => {
  for (const timer of heartbeats) clearInterval(timer);
  await platform?.stop();
});

describe('Artifacts of a task attempt', () => {
  const big = randomBytes(3 * 1024 * 1024 + 12_345);

  describe('uploaded by the worker holding the attempt', () => {
    it('are stored whole (several chunks), listed and downloaded byte for byte, as an attachment', async () => {
      const stored = await upload(worker, taskId, 'out.bin', big);
      expect(stored).toEqual({ status: 201, body: { name: 'out.bin', attempt: 1, bytes: big.length, sha256: sha256(big) } });

      const list = await alice.client.get<ArtifactList>(`/api/v1/tasks/${taskId}/artifacts`);
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual([
        { name: 'out.bin', attempt: 1, bytes: big.length, sha256: sha256(big), contentType: 'application/octet-stream', createdAt: expect.any(String) },
      ]);

      const got = await download(alice.client, `/api/v1/tasks/${taskId}/artifacts/out.bin`);
      expect(got.status).toBe(200);
      expect(got.bytes.length).toBe(big.length);
      expect(sha256(got.bytes)).toBe(sha256(big));
      expect(got.bytes.equals(big)).toBe(true);
      expect({
        type: got.headers.get('content-type'),
        disposition: got.headers.get('content-disposition'),
        nosniff: got.headers.get('x-content-type-options'),
        cache: got.headers.get('cache-control'),
        etag: got.headers.get('etag'),
      }).toEqual({
        type: 'application/octet-stream',
        disposition: 'attachment; filename="out.bin"',
        nosniff: 'nosniff',
        cache: 'private, no-store',
        etag: `"${sha256(big)}"`,
      });
    });

    it('are replaced whole by a new upload of the same name', async () => {
      const next = randomBytes(700_000);
      expect((await upload(worker, taskId, 'out.bin', next)).status).toBe(201);
      const list = await alice.client.get<ArtifactList>(`/api/v1/tasks/${taskId}/artifacts`);
      expect(list.body.items.filter((a) => a.name === 'out.bin')).toEqual([expect.objectContaining({ bytes: next.length, sha256: sha256(next) })]);
      const got = await download(alice.client, `/api/v1/tasks/${taskId}/artifacts/out.bin?attempt=1`);
      expect(got.bytes.equals(next)).toBe(true);
      // The replaced bytes are gone from the store, not just hidden.
      expect(await storedRows(taskId)).toEqual({ artifacts: 1, pending: 0, chunks: 2 });
    });

    it('are served as text when they are text (a name rule, never HTML)', async () => {
      expect((await upload(worker, taskId, 'notes.md', Buffer.from('# <b>hi</b>\n'))).status).toBe(201);
      const got = await download(alice.client, `/api/v1/tasks/${taskId}/artifacts/notes.md`);
      expect([got.status, got.headers.get('content-type'), got.bytes.toString()]).toEqual([200, 'text/plain; charset=utf-8', '# <b>hi</b>\n']);
    });
  });

  describe('refused', () => {
    it.each([
      ['in chunks', 600_000],
      ['in one message', 1_000],
    ])('when the body (sent %s) is not what x-content-sha256 says: 400, and nothing is visible or left behind', async (_how, size) => {
      const before = await storedRows(taskId);
      const res = await upload(worker, taskId, 'wrong.bin', randomBytes(size), { sha: sha256('something else') });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/SHA-256 is [0-9a-f]{64}, not the [0-9a-f]{64} declared in x-content-sha256; nothing was stored/);
      const list = await alice.client.get<ArtifactList>(`/api/v1/tasks/${taskId}/artifacts`);
      expect(list.body.items.map((a) => a.name)).not.toContain('wrong.bin');
      expect(await storedRows(taskId)).toEqual(before);
    });

    it('without a checksum, or sent as JSON: 400 and 415', async () => {
      const res = await fetch(`${platform.url}${artifactUploadPath(worker.id, taskId, 1, 'a.bin')}`, {
        method: 'PUT',
        headers: { authorization: `Worker ${worker.credential}`, 'content-type': 'application/octet-stream' },
        body: Buffer.from('x'),
      });
      expect(res.status).toBe(400);
      expect((await upload(worker, taskId, 'a.json', Buffer.from('{}'), { contentType: 'application/json' })).status).toBe(415);
    });

    it.each([
      ['a path', '../x'],
      ['a leading dot', '.x'],
      ['200 characters', 'x'.repeat(200)],
    ])('for a name with %s: 400', async (_what, name) => {
      const res = await upload(worker, taskId, name, Buffer.from('x'));
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/artifact name is 1–128 letters/);
    });

    it('over the size limit, declared or streamed: 413, and nothing left behind', async () => {
      const before = await storedRows(taskId);
      const tooBig = randomBytes(LIMIT + 1);
      expect((await upload(worker, taskId, 'huge.bin', tooBig)).status).toBe(413);
      const streamed = await upload(worker, taskId, 'huge.bin', tooBig, { chunked: true });
      expect(streamed.status).toBe(413);
      expect(await storedRows(taskId)).toEqual(before);
    });

    it('from another worker, even its owner’s: 403', async () => {
      const other = await onlineWorker(alice.client, 'other-box');
      const res = await upload(other, taskId, 'x.bin', Buffer.from('x'));
      expect(res).toMatchObject({ status: 403, body: { message: 'this worker does not hold the task' } });
    });

    it('refused at any step, leave their keep-alive connection usable for the next request', async () => {
      // One socket for everything (an agent's HTTP client reuses its connection): a refusal that
      // left the rest of its body unread on the socket would break or stall the next request.
      // A worker and task of its own (a worker has one slot): what it stores must not change the other tests' task.
      const box = await onlineWorker(alice.client, 'keep-alive-box');
      const own = await heldTask(alice.client, box);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const sockets = new Set<unknown>();
      const put = (attempt: number, name: string, data: Buffer, sha = sha256(data)) =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            `${platform.url}${artifactUploadPath(box.id, own, attempt, name)}`,
            {
              method: 'PUT',
              agent,
              headers: { authorization: `Worker ${box.credential}`, 'content-type': 'application/octet-stream', 'x-content-sha256': sha },
            },
            (res) => {
              sockets.add(res.socket);
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end(data);
        });
      const data = randomBytes(700 * 1024); // more than one chunk, less than the limit
      const statuses = [
        await put(2, 'keep.bin', data), // refused before the body is read: not the current attempt
        await put(1, 'keep.bin', data, sha256('something else')), // refused after it was read: the checksum
        await put(1, 'bad name!', data), // refused by the route: the name
        await put(1, 'keep.bin', data), // and then stored, on the same connection
      ];
      agent.destroy();
      expect(statuses).toEqual([403, 400, 400, 201]);
      expect(sockets.size).toBe(1);
    });

    it('for an attempt the worker does not hold: 403', async () => {
      const res = await upload(worker, taskId, 'x.bin', Buffer.from('x'), { attempt: 2 });
      expect(res).toMatchObject({ status: 403, body: { message: "attempt 2 is not the task's current attempt 1" } });
    });
  });

  describe('read by someone else', () => {
    it('are answered as if the task did not exist: 404', async () => {
      const list = await mallory.client.get(`/api/v1/tasks/${taskId}/artifacts`);
      const file = await download(mallory.client, `/api/v1/tasks/${taskId}/artifacts/out.bin`);
      const log = await download(mallory.client, `/api/v1/tasks/${taskId}/logs`);
      expect([list.status, file.status, log.status]).toEqual([404, 404, 404]);
      expect(list.body).toMatchObject({ message: 'no such task' });
      expect(file.bytes.toString()).not.toContain(sha256(big));
    });
  });

  describe('the full log', () => {
    it('is a 404 that says when it comes until the agent uploads it, then plain text', async () => {
      const missing = await alice.client.get(`/api/v1/tasks/${taskId}/logs`);
      expect(missing.status).toBe(404);
      expect(missing.body.message).toMatch(/^no full log stored for this task yet: it is uploaded when an attempt ends/);
      const missingArtifact = await alice.client.get(`/api/v1/tasks/${taskId}/artifacts/nothing.txt`);
      expect(missingArtifact.body.message).toMatch(
        new RegExp(`^task ${taskId} has no artifact named nothing.txt \\(its attempts stored: attempt 1: notes.md, out.bin\\)`),
      );

      const log = 'line 1\nline 2 — ünïcode\n';
      expect((await upload(worker, taskId, 'log', Buffer.from(log))).status).toBe(201);
      const got = await download(alice.client, `/api/v1/tasks/${taskId}/logs`);
      expect([got.status, got.headers.get('content-type'), got.headers.get('content-disposition'), got.bytes.toString()]).toEqual([
        200,
        'text/plain; charset=utf-8',
        'attachment; filename="log"',
        log,
      ]);
    });
  });

  describe('once the task has finished', () => {
    it('are refused (403), and deleted with the task', async () => {
      expect((await alice.client.post(`/api/v1/tasks/${taskId}/cancel`)).status).toBe(200);
      const late = await upload(worker, taskId, 'late.bin', Buffer.from('x'));
      expect(late).toMatchObject({
        status: 403,
        body: { message: expect.stringMatching(/^the task is cancelled; logs and artifacts are stored only for a live attempt/) },
      });
      // Still readable while the task is kept.
      expect((await alice.client.get<ArtifactList>(`/api/v1/tasks/${taskId}/artifacts`)).body.items.map((a) => a.name)).toEqual(['log', 'notes.md', 'out.bin']);

      expect((await alice.client.call('DELETE', `/api/v1/tasks/${taskId}`)).status).toBe(204);
      expect((await alice.client.get(`/api/v1/tasks/${taskId}/artifacts`)).status).toBe(404);
      await eventually('the deleted task’s artifacts removed', async () => {
        const rows = await storedRows(taskId);
        return rows.artifacts === 0 && rows.chunks === 0 ? true : undefined;
      });
    });
  });

  it('leave every other route JSON-only (application/octet-stream elsewhere is a 415)', async () => {
    const res = await fetch(`${platform.url}/api/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/octet-stream' },
      body: Buffer.from('{"description":"x","tool":"noop","input":{}}'),
    });
    expect(res.status).toBe(415);
  });
});
